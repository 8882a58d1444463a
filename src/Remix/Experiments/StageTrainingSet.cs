using Remix.Data;
using Remix.Data.Mixing;

namespace Remix.Experiments;

/// <summary>
/// The examples one stage trains on, from its records: its own set, then its mixing shares in the order listed, then
/// its replays. The runner's stages and <c>remix train</c> (a one-stage experiment) both build theirs here, so the
/// same records and seed give the same examples.
/// </summary>
public static class StageTrainingSet
{
    /// <summary>
    /// <paramref name="own"/> plus the draws of <paramref name="mix"/> and <paramref name="replay"/> (each replay with
    /// the earlier set it draws from), under <see cref="Seeds.Mixing"/> of <paramref name="stageSeed"/> and the stage's
    /// position <paramref name="stageIndex"/> (from 0).
    /// </summary>
    public static List<Example> Build(IReadOnlyList<Example> own, IEnumerable<MixSpec> mix,
        IEnumerable<(ReplaySpec Replay, IReadOnlyList<Example> Earlier)> replay, int stageSeed, int stageIndex)
    {
        var shares = mix.Select(Share).ToList();
        shares.AddRange(replay.Select(r => MixingShare.Replay(r.Earlier, r.Replay.Fraction)));
        return DataMixer.Mix(own, shares, Seeds.Mixing(stageSeed, stageIndex));
    }

    /// <summary>The share a <see cref="MixSpec"/> names: its source (<see cref="MixSpec.CreateSource"/>) at its ratio.</summary>
    public static MixingShare Share(MixSpec mix) => new(mix.CreateSource(), mix.Ratio);
}
