using Spacetime.Media;

namespace Spacetime.Tests.Media;

public sealed class AtomicFileTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-atomic-" + Guid.NewGuid().ToString("N")[..8]);

    public AtomicFileTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void NextWriteOfATarget_RemovesTheStaleTempsOfAKilledWrite_NotFreshOnes()
    {
        string target = Path.Combine(dir, "clip.gif");
        string stale = Path.Combine(dir, ".clip.0badc0de.tmp.gif"), fresh = Path.Combine(dir, ".clip.1badc0de.tmp.gif");
        string other = Path.Combine(dir, ".other.0badc0de.tmp.gif");
        foreach (var f in new[] { stale, fresh, other }) File.WriteAllText(f, "partial");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow - AtomicFile.StaleAfter - TimeSpan.FromMinutes(1));
        File.SetLastWriteTimeUtc(other, DateTime.UtcNow - AtomicFile.StaleAfter - TimeSpan.FromMinutes(1));
        AtomicFile.WriteAllText(target, "done");
        Assert.Equal("done", File.ReadAllText(target));
        Assert.False(File.Exists(stale));                      // a killed write's leftover
        Assert.True(File.Exists(fresh));                       // may be a live writer's
        Assert.True(File.Exists(other));                       // another target's
    }

    [Fact]
    public void FailedWrite_LeavesTheOldFileAndNoTemp()
    {
        string target = Path.Combine(dir, "keep.txt");
        File.WriteAllText(target, "old");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(target, temp =>
        {
            File.WriteAllText(temp, "half");
            throw new InvalidOperationException("killed");
        }));
        Assert.Equal("old", File.ReadAllText(target));
        Assert.Single(Directory.GetFiles(dir));
    }
}
