namespace Remix.Experiments;

/// <summary>One axis of a grid: the field of the base experiment it sets, such as <c>stages[1].mix[0].ratio</c>, and its values.</summary>
/// <param name="Path">The field's path in the base experiment: keys joined by dots, list items by <c>[N]</c> from 0.</param>
/// <param name="Values">The values, in the grid file's order.</param>
/// <param name="Zip">The index of the <c>zip</c> group the axis varies with, or null when it varies on its own.</param>
public sealed record GridAxis(string Path, IReadOnlyList<GridValue> Values, int? Zip = null);
