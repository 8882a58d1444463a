namespace Remix.Data.Bundled;

/// <summary>
/// Grade-school arithmetic word problems in GSM8K's format: a question, and a worked answer whose
/// steps carry calculator annotations <c>&lt;&lt;a*b=c&gt;&gt;</c> and end in <c>#### N</c>. Generated from
/// templates with a seed, since GSM8K itself is not reachable offline; every answer is computed.
/// </summary>
public static class ArithmeticProblems
{
    public sealed record Problem(string Question, string Answer, long Result);

    static readonly string[] Items = ["apples", "marbles", "stickers", "books", "cookies", "pencils", "cards", "stamps", "shells", "balloons", "oranges", "toy cars"];
    static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    static readonly string[] Goods = ["notebook", "lamp", "backpack", "jacket", "board game", "kettle", "bicycle helmet", "pair of shoes"];

    public static List<Problem> Generate(IReadOnlyList<string> names, int count, int seed)
    {
        if (names.Count < 2) throw new ArgumentException("need at least two names");
        var r = new Random(seed);
        var problems = new List<Problem>(count);
        while (problems.Count < count)
        {
            string name = names[r.Next(names.Count)], other = names[r.Next(names.Count)];
            if (other == name) continue;
            string item = Items[r.Next(Items.Length)];
            problems.Add((problems.Count % 8) switch
            {
                0 => Packs(r, name, item),
                1 => Half(r, name, item),
                2 => Change(r, name, item),
                3 => Pages(r, name),
                4 => Share(r, name, item),
                5 => Wages(r, name),
                6 => Discount(r),
                _ => MoreThan(r, name, other, item),
            });
        }
        return problems;
    }

    static Problem Packs(Random r, string name, string item)
    {
        int a = r.Next(3, 40), b = r.Next(2, 9), c = r.Next(3, 15), bc = b * c, t = a + bc;
        return new($"{name} has {a} {item}. {name} buys {b} packs with {c} {item} in each pack. How many {item} does {name} have now?",
            $"The packs hold {b} * {c} = <<{b}*{c}={bc}>>{bc} {item}.\n{name} now has {a} + {bc} = <<{a}+{bc}={t}>>{t} {item}.\n#### {t}", t);
    }

    static Problem Half(Random r, string name, string item)
    {
        int a = 2 * r.Next(5, 60), h = a / 2, t = a + h, m = r.Next(11);
        string m1 = Months[m], m2 = Months[m + 1];
        return new($"{name} sold {a} {item} in {m1}, and then half as many in {m2}. How many {item} did {name} sell altogether in {m1} and {m2}?",
            $"In {m2}, {name} sold {a} / 2 = <<{a}/2={h}>>{h} {item}.\nAltogether {name} sold {a} + {h} = <<{a}+{h}={t}>>{t} {item}.\n#### {t}", t);
    }

    static Problem Change(Random r, string name, string item)
    {
        int a = r.Next(2, 9), p = r.Next(1, 12), cost = a * p;
        int bill = cost < 20 ? 20 : cost < 50 ? 50 : 100, change = bill - cost;
        return new($"{name} buys {a} {item} that cost ${p} each and pays with a ${bill} bill. How much change does {name} get back?",
            $"The {item} cost {a} * {p} = $<<{a}*{p}={cost}>>{cost}.\n{name} gets back {bill} - {cost} = $<<{bill}-{cost}={change}>>{change}.\n#### {change}", change);
    }

    static Problem Pages(Random r, string name)
    {
        int a = r.Next(5, 40), d = r.Next(3, 20), total = a * d;
        return new($"{name} reads {a} pages a day. How many days will it take {name} to finish a book with {total} pages?",
            $"It takes {total} / {a} = <<{total}/{a}={d}>>{d} days.\n#### {d}", d);
    }

    static Problem Share(Random r, string name, string item)
    {
        int k = r.Next(2, 9), each = r.Next(2, 15), total = k * each;
        return new($"{name} has {total} {item} and shares them equally among {k} friends. How many {item} does each friend get?",
            $"Each friend gets {total} / {k} = <<{total}/{k}={each}>>{each} {item}.\n#### {each}", each);
    }

    static Problem Wages(Random r, string name)
    {
        int w = r.Next(8, 30), h = r.Next(2, 9), d = r.Next(2, 7), day = w * h, t = day * d;
        return new($"{name} earns ${w} an hour and works {h} hours a day for {d} days. How much money does {name} earn in total?",
            $"In one day {name} earns {w} * {h} = $<<{w}*{h}={day}>>{day}.\nIn {d} days {name} earns {day} * {d} = $<<{day}*{d}={t}>>{t}.\n#### {t}", t);
    }

    static Problem Discount(Random r)
    {
        int pct = 5 * r.Next(1, 10), p = 20 * r.Next(1, 20), off = p * pct / 100, sale = p - off;
        string good = Goods[r.Next(Goods.Length)];
        return new($"A {good} costs ${p}. It is on sale for {pct}% off. What is the sale price?",
            $"The discount is {p} * {pct} / 100 = $<<{p}*{pct}/100={off}>>{off}.\nThe sale price is {p} - {off} = $<<{p}-{off}={sale}>>{sale}.\n#### {sale}", sale);
    }

    static Problem MoreThan(Random r, string name, string other, string item)
    {
        int a = r.Next(4, 50), b = r.Next(2, 30), o = a + b, t = a + o;
        return new($"{name} has {a} {item}. {other} has {b} more {item} than {name}. How many {item} do they have together?",
            $"{other} has {a} + {b} = <<{a}+{b}={o}>>{o} {item}.\nTogether they have {a} + {o} = <<{a}+{o}={t}>>{t} {item}.\n#### {t}", t);
    }
}
