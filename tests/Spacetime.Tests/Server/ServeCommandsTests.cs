// `spacetime keys` and `spacetime serve` through the command layer: keys made, listed (never shown again) and
// revoked; every refusal to serve is one line and exit code 2.
using Spacetime.Server;
using Spacetime.Tests.Cli;

namespace Spacetime.Tests.Server;

public sealed class ServeCommandsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-servecli-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        Database.ReleaseAll();
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Keys_AddListRevoke()
    {
        var (code, output, err) = CliTests.Run("keys", "add", "--name", "laptop", "--data", dir);
        Assert.True(code == 0, err);
        var match = System.Text.RegularExpressions.Regex.Match(output, @"(key_[0-9a-f]{8}) \(laptop\): (sk-spacetime-\S+)");
        Assert.True(match.Success, output);
        string id = match.Groups[1].Value, key = match.Groups[2].Value;
        Assert.Equal(id, new ApiKeys(Database.Open(dir)).Find(key));

        (code, output, err) = CliTests.Run("keys", "list", "--data", dir);
        Assert.True(code == 0, err);
        Assert.Contains(id, output);
        Assert.Contains("active", output);
        Assert.DoesNotContain(key, output);

        (code, output, _) = CliTests.Run("keys", "revoke", id, "--data", dir);
        Assert.Equal(0, code);
        Assert.Null(new ApiKeys(Database.Open(dir)).Find(key));
        CliTests.AssertOneLineError(["keys", "revoke", id, "--data", dir], id, "no active key");
    }

    [Fact]
    public void Serve_PublicAddressWithoutKeys_OneLineAndExit2() =>
        CliTests.AssertOneLineError(["serve", "--host", "0.0.0.0", "--data", dir, "--model", Path.Combine(dir, "none")],
                                    "0.0.0.0", "keys add");

    [Fact]
    public void Serve_CorruptDatabase_OneLineAndExit2()
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, Database.FileName), "not a database, but someone's notes");
        CliTests.AssertOneLineError(["serve", "--data", dir, "--model", Path.Combine(dir, "none")], Database.FileName);
        Assert.Equal("not a database, but someone's notes", File.ReadAllText(Path.Combine(dir, Database.FileName)));
    }

    [Theory]
    [InlineData("--port", "0", "--port")]
    [InlineData("--port", "70000", "--port")]
    [InlineData("--workers", "0", "--workers")]
    [InlineData("--retention-days", "-1", "--retention-days")]
    [InlineData("--retention-days", "seven", "seven")]
    [InlineData("--host", "my-laptop", "my-laptop")]
    public void Serve_BadOption_OneLineAndExit2(string option, string value, string mention) =>
        CliTests.AssertOneLineError(["serve", option, value, "--data", dir], mention);

    [Fact]
    public void Serve_MissingModel_OneLineAndExit2() =>
        CliTests.AssertOneLineError(["serve", "--data", dir, "--model", Path.Combine(dir, "no-model")], "no-model");
}
