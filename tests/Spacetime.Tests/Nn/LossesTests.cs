// Nn's shared losses: the temporal-difference loss (the DiT objective's and the VAE's extra term) against a float64
// reference, its weights (known frames out), the single-frame case, and its gradient by finite differences.
using Spacetime.Engine;
using Spacetime.Nn;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Nn;

public class LossesTests
{
    const int B = 2, C = 3, T = 6, H = 4, W = 5;

    [Fact]
    public void TemporalDifference_IsTheWeightedMeanOfFramePairChanges_InDouble()
    {
        var rng = new Rng(8);
        var (prediction, target) = (rng.Normal(B, C, T, H, W), rng.Normal(B, C, T, H, W));
        var known = Tensor.From([1f, 1, 0, 0, 0, 0, /* clip 2 */ 0, 0, 0, 0, 0, 1], B, 1, T, 1, 1);
        var weight = (1f - known) * rng.Uniform(1f, 3f, B, 1, T, H, W);                // (B, 1, T, H, W)
        // float64 reference: pairs (f, f+1) weigh sqrt(w_f w_{f+1}); a known frame's pairs weigh 0
        var (p, y, w) = (prediction.ToArray(), target.ToArray(), weight.ToArray());
        double sum = 0, weights = 0;
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int f = 0; f + 1 < T; f++)
                    for (int i = 0; i < H * W; i++)
                    {
                        int at = ((b * C + c) * T + f) * H * W + i, next = at + H * W;
                        double pair = Math.Sqrt((double)w[(b * T + f) * H * W + i] * w[(b * T + f + 1) * H * W + i]);
                        double change = (p[next] - y[next]) - (p[at] - y[at]);
                        sum += pair * change * change;
                        weights += pair;
                    }
        Assert.Equal(sum / weights, Losses.TemporalDifference(prediction - target, weight)!.Item(), 4);
        // an error that is the same in every frame costs nothing; one that changes costs something
        var shifted = Tensor.From(target.ToArray().Select((v, i) => v + (i / (H * W * T)) * 0.3f).ToArray(), B, C, T, H, W);
        Assert.Equal(0f, Losses.TemporalDifference(shifted - target)!.Item(), 6);
        Assert.True(Losses.TemporalDifference(prediction - target, known * 0f + 1f)!.Item() > 0);
        Assert.Null(Losses.TemporalDifference(rng.Normal(B, C, 1, H, W) - rng.Normal(B, C, 1, H, W)));
        // its gradient in the prediction, by finite differences, with the weights and without
        GradCheck.Check(x => Losses.TemporalDifference(x[0] - target, weight)!, [rng.Normal(B, C, T, H, W)], what: "weighted");
        GradCheck.Check(x => Losses.TemporalDifference(x[0] - target)!, [rng.Normal(B, C, T, H, W)], what: "plain");
    }
}
