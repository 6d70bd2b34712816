// PromptReader: the reading half of the prompt expander. Words in (PromptExpander.Words); objects with their deeds,
// and the scene, out. Two passes: scene words first, so that "the camera pans to the left" moves no object; then
// clauses, read left to right:
//     subjects (noun phrases) -> verbs (with directions, "twice", a partner) -> companions after "with"
// A noun phrase after a verb starts the next clause ("a red ball falls and a blue box slides left"). "The red ball"
// refers back to an earlier red ball; "it" to the latest subjects. Word lists beyond the grammar's own (colours,
// shapes and their synonyms, sizes, counts: CaptionGrammar) are the prompt words below.
namespace Spacetime.World;

internal sealed class PromptReader(List<string> words)
{
    static readonly Dictionary<string, (Act Act, int V)> Verbs = Lexicon(
        (Act.Falls, 0, "fall falls falling fell drop drops dropping dropped plummets tumbles sink sinks sinking"),
        (Act.Bounces, 0, "bounce bounces bouncing bounced hops hopping rebounds"),
        (Act.Thrown, 0, "throw throws thrown threw throwing toss tosses tossed launch launches launched fly flies " +
                        "flying flew hurled lobbed"),
        (Act.Slides, 0, "slide slides sliding slid glide glides gliding roll rolls rolling rolled skids"),
        (Act.Moves, 0, "move moves moving moved go goes going went travel travels travelling heads pass passes " +
                       "passing passed crosses hides disappears"),
        (Act.Drifts, 0, "drift drifts drifting drifted float floats floating floated hover hovers hovering"),
        (Act.Drifts, 1, "rise rises rising rose ascends"),
        (Act.Collides, 0, "collide collides colliding collided collision crash crashes crashing crashed hit hits " +
                          "hitting bump bumps bumped smash smashes strike strikes knocks meet meets"),
        (Act.Rests, 0, "stop stops stopping stopped halts settles"),
        (Act.StaysStill, 0, "rest rests resting sit sits sitting lie lies lying stay stays stand stands still " +
                            "stationary motionless"));

    static readonly Dictionary<string, SizeClass> SizeWords = new()
    {
        ["tiny"] = SizeClass.Small, ["little"] = SizeClass.Small, ["mini"] = SizeClass.Small,
        ["big"] = SizeClass.Large, ["huge"] = SizeClass.Large, ["giant"] = SizeClass.Large,
    };

    static readonly Dictionary<string, int> CountWords = new()
    {
        ["couple"] = 2, ["pair"] = 2, ["both"] = 2, ["few"] = 3, ["several"] = 3, ["many"] = 4, ["lots"] = 4,
    };

    static readonly HashSet<string> Generic = ["object", "thing", "shape", "one", "item"];
    static readonly HashSet<string> OccluderNouns = ["block", "blocks", "occluder", "pillar", "barrier", "screen"];
    static readonly HashSet<string> Pronouns = ["it", "they", "them", "both"];

    readonly List<string> w = words;
    readonly bool[] used = new bool[words.Count];        // read by the scene pass or a phrase
    readonly List<Thing> things = [];
    readonly List<Clause> clauses = [new()];
    List<Thing> latest = [];                             // the latest noun phrase: what "on the left" is about
    readonly List<Thing> shapeless = [];                 // "a red and a blue ball": colours waiting for a shape
    bool with, partner, boundary;                        // after "with"; a collision's partner is next; after "."
    int pendingH, pendingV;                              // a direction said before its verb

    bool backgroundSaid;                                 // null Background in the reading when false
    BackgroundPattern pattern = BackgroundPattern.Plain;
    readonly List<BackgroundColour> backgroundColours = [];
    bool vertical = true;
    CameraMotion? camera;                                // null: the text says nothing about the camera
    bool? gravity;
    bool block;

    sealed class Clause
    {
        public readonly List<Thing> Subjects = [], Others = [];
        public readonly List<Verb> Verbs = [];
        public bool Ignored;                             // about the camera or the block, not an object
    }

    sealed class Verb(Act kind, int v)
    {
        public readonly Act Kind = kind;
        public int H, V = v, Times;
        public Thing? Other;                             // "collides with X"
        public bool Wall;                                // "hits the wall"
    }

    Clause Cur => clauses[^1];
    Verb? LastVerb => Cur.Verbs.Count > 0 ? Cur.Verbs[^1] : null;

    public PromptReading Read()
    {
        ReadScene();
        for (int i = 0; i < w.Count;) i = Math.Max(i + 1, ReadAt(i));
        MergeUnresolved();
        var acts = new HashSet<Act>();
        Clause? previous = null;
        foreach (var c in clauses.Where(c => !c.Ignored))
        {
            var subjects = c.Subjects.Count > 0 ? c.Subjects : previous?.Subjects ?? [];
            if (subjects.Count == 0 && c.Verbs.Count > 0 && things.Count == 0)   // "falling": nothing named
            {
                things.Add(new Thing());
                subjects = [things[0]];
            }
            if (subjects.Count == 0) continue;
            foreach (var v in c.Verbs)
            {
                acts.Add(v.Kind);
                Give(v, subjects);
            }
            previous = c.Subjects.Count > 0 ? c : previous;
        }
        var a = backgroundColours.Count > 0 ? backgroundColours[0] : BackgroundColour.DarkGrey;
        var b = backgroundColours.Count > 1 ? backgroundColours[1] : (BackgroundColour)(((int)a + 1) % 4);
        if (backgroundColours.Count > 1 && pattern == BackgroundPattern.Plain) pattern = BackgroundPattern.Gradient;
        var background = backgroundSaid ? new Background(pattern, a, b, 1.5, vertical) : null;
        return new PromptReading(things, background, camera, gravity, block, acts);
    }

    /// <summary>Reads what starts at word i; returns the index after it.</summary>
    int ReadAt(int i)
    {
        string word = w[i];
        if (used[i]) return i + 1;
        if (word == ".")
        {
            (with, partner, boundary) = (false, false, true);
            shapeless.Clear();
            return i + 1;
        }
        if (TimesAt(i, out int end) is { } times)
        {
            var verb = Cur.Verbs.LastOrDefault(v => v.Kind == Act.Bounces) ?? LastVerb;
            if (verb is not null && !boundary) verb.Times = times;
            return end;
        }
        if (NounPhrase(i, out var np, out end))
        {
            if (np.Count > 0) Take(np);
            return end;
        }
        if (Pronouns.Contains(word))
        {
            var subjects = clauses.LastOrDefault(c => !c.Ignored && c.Subjects.Count > 0)?.Subjects;
            if (subjects is not null) Take([.. subjects]);
            return i + 1;
        }
        if (word == "camera" || OccluderNouns.Contains(word))
        {
            NewClause(ignored: true);
            latest = [];
            return i + 1;
        }
        if (word == "with")
        {
            if (LastVerb is { Kind: Act.Collides, Other: null, Wall: false } && Cur.Subjects.Count <= 1) partner = true;
            else with = true;
            return i + 1;
        }
        if (word is "into" or "against" or "onto")                                 // "rolls into X": and hits X
        {
            if (LastVerb is { Kind: Act.Collides, Other: null }) partner |= Cur.Subjects.Count <= 1;
            else if (LastVerb is { Kind: not (Act.Rests or Act.StaysStill or Act.Behind) }) AddVerb(Act.Collides, 0);
            return i + 1;
        }
        if (word == "behind")
        {
            AddVerb(Act.Behind, 0);
            return SkipOccluder(i + 1);
        }
        if (word is "wall" or "walls" or "ceiling")
        {
            if (LastVerb is { Kind: Act.Collides, Other: null } hit)
            {
                hit.Wall = true;
                if (word == "ceiling") hit.V = 1;
                partner = false;
            }
            return i + 1;
        }
        if (PositionAt(i, out end)) return end;
        if (Direction(word) is var (h, v) && (h != 0 || v != 0))
        {
            Steer(h, v);
            return i + 1;
        }
        if (word == "rest" && i > 0 && w[i - 1] == "to") AddVerb(Act.Rests, 0);    // "comes to rest"
        else if (Verbs.TryGetValue(word, out var lexeme)) AddVerb(lexeme.Act, lexeme.V);
        return i + 1;
    }

    // ---- pass 1: the scene ----

    void ReadScene()
    {
        for (int i = 0; i < w.Count; i++)
        {
            string word = w[i];
            if (word is "background" or "backdrop" or "stripes" or "checkerboard") ReadBackground(i);
            else if (word is "fades" or "fade" && i + 1 < w.Count && w[i + 1] == "from") ReadFade(i);
            else if (word is "pan" or "pans" or "panning" or "panned")
            {
                used[i] = true;
                camera = CameraMotion.PanRight;
                for (int k = i + 1; k < Math.Min(w.Count, i + 5) && w[k] != "."; k++)
                    if (w[k] is "left" or "right")
                    {
                        camera = w[k] == "left" ? CameraMotion.PanLeft : CameraMotion.PanRight;
                        used[k] = true;
                        break;
                    }
            }
            else if (word == "camera")                                             // "the camera is still"
            {
                for (int k = i + 1; k < Math.Min(w.Count, i + 4) && w[k] != "."; k++)
                    if (w[k] is "still" or "static" or "stationary" or "fixed")
                    {
                        used[k] = true;
                        camera ??= CameraMotion.Still;
                    }
            }
            else if (word is "zoom" or "zooms" or "zooming" or "zoomed")
            {
                used[i] = true;
                bool outward = i + 1 < w.Count && w[i + 1] == "out";
                if (i + 1 < w.Count && w[i + 1] is "in" or "out") used[i + 1] = true;
                camera = outward ? CameraMotion.ZoomOut : CameraMotion.ZoomIn;
            }
            else if (word is "still" or "static" && i + 1 < w.Count && w[i + 1] == "camera")
            {
                used[i] = true;
                camera ??= CameraMotion.Still;
            }
            else if (word == "gravity")
            {
                used[i] = true;
                bool before = i > 0 && w[i - 1] is "no" or "zero" or "without" or "with";
                gravity = !(before && w[i - 1] != "with");
                if (before) used[i - 1] = true;
            }
            else if (word is "weightless" or "space")
            {
                used[i] = true;
                gravity = false;
            }
            else if (word == "behind" || OccluderNouns.Contains(word)) block = true;
        }
    }

    /// <summary>"on a plain black background", "a navy and brown checkerboard", "horizontal stripes".</summary>
    void ReadBackground(int at)
    {
        used[at] = true;
        backgroundSaid = true;
        if (w[at] == "stripes") pattern = BackgroundPattern.Stripes;
        if (w[at] == "checkerboard") pattern = BackgroundPattern.Checker;
        var colours = new List<BackgroundColour>();
        for (int k = at - 1; k >= 0 && k >= at - 6; k--)
        {
            string word = w[k];
            if (BackgroundColourOf(word) is { } c)
            {
                if (colours.Count == 0 || colours[0] != c) colours.Insert(0, c);
            }
            else if (word is "striped" or "stripes" or "stripy") pattern = BackgroundPattern.Stripes;
            else if (word is "checkerboard" or "checkered" or "chequered" or "checker")
                pattern = BackgroundPattern.Checker;
            else if (word is "gradient" or "fading") pattern = BackgroundPattern.Gradient;
            else if (word is "horizontal" or "vertical") vertical = word == "vertical";
            else if (word is not ("plain" or "solid" or "and")) break;
            used[k] = true;
        }
        backgroundColours.AddRange(colours.Take(2 - Math.Min(2, backgroundColours.Count)));
    }

    /// <summary>"(a background that) fades from black at the top to navy at the bottom": a gradient, top colour
    /// first, as captions write it (CaptionWriter.BackgroundPhrase).</summary>
    void ReadFade(int at)
    {
        used[at] = true;
        backgroundSaid = true;
        pattern = BackgroundPattern.Gradient;
        var colours = new List<BackgroundColour>();
        for (int k = at + 1; k < Math.Min(w.Count, at + 12); k++)
        {
            if (BackgroundColourOf(w[k]) is { } c)
            {
                if (colours.Count == 0 || colours[^1] != c) colours.Add(c);            // "dark" then "grey": one
            }
            else if (w[k] is not ("from" or "to" or "at" or "the" or "top" or "bottom")) break;
            used[k] = true;
        }
        backgroundColours.AddRange(colours.Take(2 - Math.Min(2, backgroundColours.Count)));
    }

    static BackgroundColour? BackgroundColourOf(string word)
    {
        if (word == "gray") word = "grey";
        for (int k = 0; k < CaptionGrammar.BackgroundColours.Count; k++)
            if (CaptionGrammar.BackgroundColours[k].Split(' ').Contains(word))          // "dark" or "grey": dark grey
                return (BackgroundColour)k;
        return null;
    }

    // ---- pass 2: objects and what they do ----

    /// <summary>"a red ball", "two small squares", "the red one", "a red and a blue box", "red and blue balls".
    /// </summary>
    bool NounPhrase(int i, out List<Thing> np, out int end)
    {
        np = [];
        end = i;
        int j = i, n = w.Count;
        int? count = null;
        bool definite = false;
        if (w[j] is "a" or "an") (count, j) = (1, j + 1);
        else if (w[j] is "the" or "this" or "that" or "these" or "those") (definite, j) = (true, j + 1);
        if (j < n && CountOf(w[j]) is { } c)
        {
            (count, j) = (c, j + 1);
            if (j < n && w[j] == "of") j++;                                        // "a pair of"
        }
        var colours = new List<Colour>();
        var sizes = new List<SizeClass>();
        for (; j < n && !used[j]; j++)
        {
            if (ColourOf(w[j]) is { } colour) colours.Add(colour);
            else if (SizeOf(w[j]) is { } size) sizes.Add(size);
            else if (!(w[j] is "and" or "or" or "," && colours.Count + sizes.Count > 0 && j + 1 < n
                       && (ColourOf(w[j + 1]) is not null || SizeOf(w[j + 1]) is not null))) break;
        }
        Shape? shape = null;
        bool plural = false;
        bool head = j < n && !used[j] && Head(w[j], out shape, out plural);
        if (head) j++;
        if (!head && (colours.Count == 0 || j < n && w[j] is "background" or "backdrop" or "floor")) return false;
        end = j;

        if (definite && count is null && colours.Count <= 1 && sizes.Count <= 1)   // refers back, when one fits
        {
            var fits = things.Where(t => Fits(t, colours, sizes, shape)).ToList();
            if (fits.Count > 0)
            {
                np = plural ? fits : [fits[^1]];
                foreach (var t in np)
                {
                    t.Colour ??= colours.Count > 0 ? colours[0] : null;
                    t.Size ??= sizes.Count > 0 ? sizes[0] : null;
                    t.Shape ??= shape;
                }
                return true;
            }
        }
        int k = Math.Max(count ?? (plural ? 2 : 1), colours.Count);
        for (int t = 0; t < k && things.Count < PromptExpander.MaxObjects; t++)
        {
            var thing = new Thing
            {
                Colour = Pick(colours, t), Size = Pick(sizes, t), Shape = shape,
                Unresolved = definite && count is null,
            };
            things.Add(thing);
            np.Add(thing);
        }
        if (!head) shapeless.AddRange(np);                                         // waits for "... and a blue ball"
        else
        {
            foreach (var t in shapeless) t.Shape ??= shape;
            shapeless.Clear();
        }
        return true;
    }

    /// <summary>A definite phrase fits an earlier object when nothing contradicts and colour or shape agrees.</summary>
    static bool Fits(Thing t, List<Colour> colours, List<SizeClass> sizes, Shape? shape)
    {
        Colour? colour = colours.Count > 0 ? colours[0] : null;
        SizeClass? size = sizes.Count > 0 ? sizes[0] : null;
        bool compatible = (colour is null || t.Colour is null || t.Colour == colour)
                          && (shape is null || t.Shape is null || t.Shape == shape)
                          && (size is null || t.Size is null || t.Size == size);
        return compatible && (colour is not null && t.Colour == colour || shape is not null && t.Shape == shape);
    }

    /// <summary>One list entry per object; a single entry applies to all.</summary>
    static T? Pick<T>(List<T> items, int k) where T : struct =>
        items.Count == 0 ? null : items.Count == 1 ? items[0] : k < items.Count ? items[k] : null;

    void Take(List<Thing> np)
    {
        if (boundary || Cur.Ignored) NewClause();
        boundary = false;
        var c = Cur;
        if (partner && c.Verbs.Count > 0)
        {
            c.Verbs[^1].Other = np[0];
            AddNew(c.Others, np.Skip(1));
            partner = false;
        }
        else if (with) AddNew(c.Others, np);
        else if (c.Verbs.Count == 0 || c.Subjects.Count == 0) AddNew(c.Subjects, np);
        else
        {
            NewClause();
            AddNew(Cur.Subjects, np);
        }
        latest = np;
    }

    static void AddNew(List<Thing> list, IEnumerable<Thing> items)
    {
        foreach (var t in items)
            if (!list.Contains(t)) list.Add(t);
    }

    void NewClause(bool ignored = false)
    {
        clauses.Add(new Clause { Ignored = ignored });
        (with, partner) = (false, false);
    }

    void AddVerb(Act act, int v)
    {
        if (boundary && (Cur.Verbs.Count > 0 || Cur.Subjects.Count > 0 || Cur.Ignored)) NewClause();
        boundary = false;
        var verb = new Verb(act, pendingV != 0 ? pendingV : v) { H = pendingH };
        (pendingH, pendingV) = (0, 0);
        Cur.Verbs.Add(verb);
        partner = act == Act.Collides && Cur.Subjects.Count == 1;
        with = false;
        shapeless.Clear();
    }

    /// <summary>A direction goes to the latest verb of the clause, or waits for the next one.</summary>
    void Steer(int h, int v)
    {
        if (Cur.Ignored) return;
        if (!boundary && LastVerb is { } verb)
        {
            if (h != 0) verb.H = h;
            if (v != 0) verb.V = v;
        }
        else (pendingH, pendingV) = (h != 0 ? h : pendingH, v != 0 ? v : pendingV);
    }

    /// <summary>"on the left", "at the top right", "from the right", "on the floor": where the latest objects start.
    /// "On the floor" after a fall or bounce is where it lands, not where it starts.</summary>
    bool PositionAt(int i, out int end)
    {
        end = i + 1;
        if (w[i] is not ("on" or "at" or "in" or "from" or "near")) return false;
        int j = i + 1;
        if (j < w.Count && w[j] == "the") j++;
        double? x = null;
        Band? y = null;
        bool middle = false, any = false;
        for (; j < w.Count && !used[j]; j++, any = true)
        {
            if (w[j] == "left") x = PromptExpander.Left;
            else if (w[j] == "right") x = PromptExpander.Right;
            else if (w[j] is "middle" or "center" or "centre") middle = true;
            else if (w[j] == "top") y = Band.Top;
            else if (w[j] == "bottom") y = Band.Bottom;
            else if (w[j] is "floor" or "ground") y = Band.Floor;
            else break;
        }
        if (!any) return false;
        end = j;
        if (middle && x is null) x = PromptExpander.Middle;
        else if (middle && y is null) y = Band.Middle;
        if (y == Band.Floor && LastVerb is { Kind: Act.Falls or Act.Bounces or Act.Thrown }) y = null;
        if (Cur.Ignored) return true;
        foreach (var t in latest)
        {
            if (x is not null) t.X = x;
            if (y is not null) t.Y = y;
        }
        return true;
    }

    /// <summary>"a grey block", "the wall", "a box" after "behind" name the block, not an object.</summary>
    int SkipOccluder(int j)
    {
        int k = j;
        while (k < w.Count && w[k] is "a" or "an" or "the" or "grey" or "gray" or "big" or "tall" or "large" or "small")
            k++;
        if (k >= w.Count || !(OccluderNouns.Contains(w[k]) || w[k] is "box" or "wall")) return j;
        for (int m = j; m <= k; m++) used[m] = true;
        return k + 1;
    }

    /// <summary>"twice", "three times", "3 times".</summary>
    int? TimesAt(int i, out int end)
    {
        end = i + 1;
        int? once = w[i] switch { "once" => 1, "twice" => 2, "thrice" => 3, _ => null };
        if (once is not null) return once;
        if (i + 1 >= w.Count || w[i + 1] != "times" || CountOf(w[i]) is not { } n) return null;
        end = i + 2;
        return Math.Min(n, 10);
    }

    /// <summary>After the reading: "the small cyan square" that named nothing earlier is the "cyan square" named
    /// later (the world's prompts can say "collides with the small cyan square, with a cyan square").</summary>
    void MergeUnresolved()
    {
        foreach (var u in things.Where(t => t.Unresolved).ToList())
        {
            var same = things.FirstOrDefault(o => o != u && !o.Unresolved && u.Colour is not null
                                                  && o.Colour == u.Colour && o.Shape == u.Shape);
            if (same is null) continue;
            same.Size ??= u.Size;
            same.X ??= u.X;
            same.Y ??= u.Y;
            things.Remove(u);
            foreach (var c in clauses)
            {
                Replace(c.Subjects);
                Replace(c.Others);
                foreach (var v in c.Verbs.Where(v => v.Other == u)) v.Other = same;
            }

            void Replace(List<Thing> list)
            {
                int at = list.IndexOf(u);
                if (at < 0) return;
                list.RemoveAt(at);
                if (!list.Contains(same)) list.Insert(at, same);
            }
        }
    }

    /// <summary>Gives a verb's deeds to its subjects. A collision with a named partner: the subjects head for it; a
    /// collision among two or more subjects: the first (on the left) meets each other one, and all rebound.</summary>
    static void Give(Verb v, List<Thing> subjects)
    {
        if (v.Kind != Act.Collides)
        {
            foreach (var s in subjects) s.Add(new Deed(v.Kind, v.H, v.V, v.Times));
            return;
        }
        if (v.Wall)
        {
            foreach (var s in subjects) s.Add(new Deed(Act.HitsWall, v.H, v.V));
            return;
        }
        if (v.Other is { } target && !subjects.Contains(target))
        {
            foreach (var s in subjects)
            {
                s.Add(new Deed(Act.Collides, Other: target, Approach: true));
                s.SideHint ??= PromptExpander.Left;
                target.Add(new Deed(Act.Collides, Other: s));
                target.HitBy ??= s;
            }
            return;
        }
        if (subjects.Count < 2) return;
        var first = subjects[0];
        first.SideHint ??= PromptExpander.Left;
        foreach (var s in subjects.Skip(1))
        {
            first.Add(new Deed(Act.Collides, Other: s, Approach: true, Rebound: true));
            s.Add(new Deed(Act.Collides, Other: first, Approach: true, Rebound: true));
            s.SideHint ??= PromptExpander.Right;
        }
    }

    // ---- words ----

    static Dictionary<string, (Act, int)> Lexicon(params (Act Act, int V, string Words)[] entries)
    {
        var lexicon = new Dictionary<string, (Act, int)>();
        foreach (var (act, v, list) in entries)
            foreach (string word in list.Split(' '))
                lexicon[word] = (act, v);
        return lexicon;
    }

    static Colour? ColourOf(string word)
    {
        int k = IndexOf(CaptionGrammar.Colours, word);
        return k >= 0 ? (Colour)k : null;
    }

    static SizeClass? SizeOf(string word)
    {
        int k = IndexOf(CaptionGrammar.Sizes, word);
        return k >= 0 ? (SizeClass)k : SizeWords.TryGetValue(word, out var s) ? s : null;
    }

    /// <summary>"two", "2", "few": how many objects a phrase names.</summary>
    internal static int? CountOf(string word)
    {
        int k = IndexOf(CaptionGrammar.Counts, word);
        if (k >= 0) return k + 1;
        if (CountWords.TryGetValue(word, out int n)) return n;
        return word.Length <= 4 && int.TryParse(word, out n) && n > 0 ? n : null;
    }

    /// <summary>A shape noun ("ball", "boxes") or a generic one ("object", "ones": no shape).</summary>
    static bool Head(string word, out Shape? shape, out bool plural)
    {
        (shape, plural) = (null, false);
        foreach (string stem in new[] { word, Stem(word, "s"), Stem(word, "es") })
        {
            plural = stem != word;
            if (CaptionGrammar.ShapeSynonyms.TryGetValue(stem, out var s))
            {
                shape = s;
                return true;
            }
            if (Generic.Contains(stem)) return true;
        }
        plural = false;
        return false;
    }

    static string Stem(string word, string suffix) =>
        word.Length > suffix.Length + 1 && word.EndsWith(suffix) ? word[..^suffix.Length] : word;

    static (int H, int V) Direction(string word) => word switch
    {
        "left" or "leftward" or "leftwards" => (-1, 0),
        "right" or "rightward" or "rightwards" => (1, 0),
        "up" or "upward" or "upwards" => (0, 1),
        "down" or "downward" or "downwards" => (0, -1),
        _ => (0, 0),
    };

    static int IndexOf(IReadOnlyList<string> list, string word)
    {
        for (int k = 0; k < list.Count; k++)
            if (list[k] == word) return k;
        return -1;
    }
}
