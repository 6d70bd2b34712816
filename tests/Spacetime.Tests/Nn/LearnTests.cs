// "A small network learns a task": an MLP learns two moons (two interleaved half circles, noise 0.1) with AdamW,
// full batch (256 points, 200 steps), and must classify a held-out set of 400 points with at least 97% accuracy
// (it reaches 100%). Seeded; about 0.5 s of CPU time.
using Spacetime.Engine;
using Spacetime.Nn;
using Spacetime.Nn.Optim;

namespace Spacetime.Tests.Nn;

public class LearnTests
{
    // n points, half on each moon (sklearn's make_moons): x (n, 2), labels 0/1.
    static (Tensor X, float[] Y) TwoMoons(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[2 * n];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            float t = MathF.PI * rng.NextFloat();
            bool upper = i % 2 == 0;
            x[2 * i] = (upper ? MathF.Cos(t) : 1 - MathF.Cos(t)) + 0.1f * rng.NextNormal();
            x[2 * i + 1] = (upper ? MathF.Sin(t) : 0.5f - MathF.Sin(t)) + 0.1f * rng.NextNormal();
            y[i] = upper ? 0f : 1f;
        }
        return (Tensor.From(x, n, 2), y);
    }

    sealed class Classifier : Module
    {
        readonly Mlp body;
        readonly Linear head;
        public Classifier(Rng rng)
        {
            body = Add("body", new Mlp(2, 16, Activation.Relu, rng, outFeatures: 16));
            head = Add("head", new Linear(16, 1, rng));
        }
        public Tensor Forward(Tensor x) => head.Forward(F.Relu(body.Forward(x)));     // (n, 1) logits
    }

    [Fact]
    public void Mlp_LearnsTwoMoons_ToAtLeast97PercentHeldOut()
    {
        var (x, y) = TwoMoons(256, seed: 1);
        var sign = Tensor.From(y.Select(v => 2 * v - 1).ToArray(), y.Length, 1);      // labels as -1 / +1
        var model = new Classifier(new Rng(2));
        var opt = new AdamW(model.NamedParameters(), lr: 0.02f, weightDecay: 0f);
        for (int step = 0; step < 200; step++)
        {
            using var scope = TensorScope.Begin();
            // logistic loss mean(log(1 + exp(-y z))), written with elementwise ops
            var loss = F.Mean(F.Log(F.Exp(-(sign * model.Forward(x))) + 1f));
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
        }
        var (xt, yt) = TwoMoons(400, seed: 3);
        float[] logits;
        using (Autograd.NoGrad()) logits = model.Forward(xt).ToArray();
        double accuracy = logits.Select((z, i) => (z > 0 ? 1f : 0f) == yt[i] ? 1.0 : 0.0).Average();
        Assert.True(accuracy >= 0.97, $"held-out accuracy {accuracy:P1}, expected at least 97%");
    }
}
