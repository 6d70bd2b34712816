// Learning-rate schedules as small pure functions of the step (nanoGPT's get_lr): the trainer asks for the rate of
// step `step` and sets optimizer.Lr, so resuming at step k needs nothing but k.
namespace Spacetime.Nn.Optim;

/// <summary>Learning-rate schedules.</summary>
public static class LrSchedule
{
    /// <summary>
    /// Linear warmup to <paramref name="baseLr"/> over <paramref name="warmupSteps"/> steps, then cosine decay to
    /// <paramref name="minLr"/> at <paramref name="totalSteps"/>, then constant <paramref name="minLr"/>.
    /// </summary>
    public static float WarmupCosine(int step, float baseLr, int warmupSteps, int totalSteps, float minLr)
    {
        if (step < 0 || warmupSteps < 0 || totalSteps < warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(step), $"WarmupCosine: step {step}, warmup {warmupSteps}, " +
                $"total {totalSteps}; need step >= 0 and 0 <= warmup <= total.");
        // 1) linear warmup for warmupSteps steps (step 0 already gets a small positive rate)
        if (step < warmupSteps) return baseLr * (step + 1) / (warmupSteps + 1);
        // 2) after totalSteps, the minimum rate
        if (step >= totalSteps) return minLr;
        // 3) in between, cosine decay from baseLr down to minLr
        double ratio = (double)(step - warmupSteps) / (totalSteps - warmupSteps);
        double coeff = 0.5 * (1.0 + Math.Cos(Math.PI * ratio));       // runs from 1 to 0
        return (float)(minLr + coeff * (baseLr - minLr));
    }
}
