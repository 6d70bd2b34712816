// ClipLabels: facts about a world clip that a small video classifier learns to read (the features of the Fréchet video
// distance, Eval/VideoDistance.cs): the protagonist's colour and shape, how many objects there are, and which way the
// protagonist moves on screen, each a class index read from the simulator's truth.
namespace Spacetime.World;

/// <summary>Class labels of one clip (see the file header); <see cref="Classes"/> gives each head's class count.</summary>
/// <param name="Colour">The protagonist's <see cref="World.Colour"/>.</param>
/// <param name="Shape">The protagonist's <see cref="World.Shape"/>.</param>
/// <param name="Count">Objects in the scene, minus 1 (0..3).</param>
/// <param name="Horizontal">The protagonist's net on-screen motion from its first to its last frame along x: 0 left,
/// 1 less than <see cref="ClearMove"/> either way, 2 right.</param>
/// <param name="Vertical">The same along y: 0 up, 1 neither, 2 down.</param>
public readonly record struct ClipLabels(int Colour, int Shape, int Count, int Horizontal, int Vertical)
{
    /// <summary>Classes per label, in the order of the record's fields.</summary>
    public static readonly int[] Classes = [Enum.GetValues<Colour>().Length, Enum.GetValues<Shape>().Length, 4, 3, 3];

    /// <summary>Least net motion for a direction, as a fraction of the frame's short side.</summary>
    public const double ClearMove = 0.1;

    /// <summary>The labels as an array, in field order.</summary>
    public int[] ToArray() => [Colour, Shape, Count, Horizontal, Vertical];

    /// <summary>The labels of a rendered clip.</summary>
    public static ClipLabels Of(WorldClip clip)
    {
        var truth = clip.Truth;
        int p = clip.Scene.Protagonist;
        var body = clip.Scene.Bodies.First(b => b.Id == p);
        var states = truth.Frames.Select(f => f.Objects.FirstOrDefault(o => o.Id == p)).ToArray();
        double side = Math.Min(truth.Width, truth.Height);
        int Direction(int axis)
        {
            double moved = states[^1]!.CenterPx[axis] - states[0]!.CenterPx[axis];
            return moved < -ClearMove * side ? 0 : moved > ClearMove * side ? 2 : 1;
        }
        return new ClipLabels((int)body.Colour, (int)body.Shape, Math.Clamp(truth.Objects.Count - 1, 0, 3), Direction(0), Direction(1));
    }
}
