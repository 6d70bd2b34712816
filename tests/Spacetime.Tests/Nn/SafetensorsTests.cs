// Safetensors: the file PyTorch wrote (Data/torch_small.safetensors, made by Data/make_torch_small.py) reads with exact
// values and its modules' weights reproduce PyTorch's outputs; our files read back; every kind of damage gives an
// InvalidDataException that names the file and the problem.
using System.Buffers.Binary;
using System.Text;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Nn;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Nn;

public sealed class SafetensorsTests : IDisposable
{
    static readonly string TorchFile = Path.Combine(AppContext.BaseDirectory, "Data", "torch_small.safetensors");
    readonly string dir = Directory.CreateTempSubdirectory("spacetime-st-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static OrderedDictionary<string, Tensor> WithPrefix(SafetensorsFile f, string prefix) =>
        new(f.Tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                     .Select(kv => KeyValuePair.Create(kv.Key[prefix.Length..], kv.Value)));

    [Fact]
    public void Read_TorchFile_EveryDTypeExact()
    {
        var f = Safetensors.Read(TorchFile);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal(SafetensorsDType.BF16, f.DTypes["dtypes.bf16"]);
        var t = f.Tensors;
        TensorAssert.ShapeIs(t["dtypes.f32"], 2, 3);
        Assert.Equal([-1.5f, 0f, 2.25f, 1e-30f, -3.0e38f, 123.456f], t["dtypes.f32"].ToArray());
        Assert.Equal([0f, -0f, 1f, -2.5f, 65504f, MathF.ScaleB(1f, -24), 0.333251953125f, float.PositiveInfinity],
                     t["dtypes.f16"].ToArray());
        Assert.True(float.IsNegative(t["dtypes.f16"].ToArray()[1]));       // -0 stays negative
        Assert.Equal([1f, -2f, 3.140625f, MathF.ScaleB(1f, 100), -MathF.ScaleB(1f, -126), MathF.ScaleB(1f, -133)],
                     t["dtypes.bf16"].ToArray());
        Assert.Equal([0.1f, -2.5f], t["dtypes.f64"].ToArray());
        Assert.Equal([0L, -1L, (1L << 40) + 1, (1L << 53) + 1, long.MinValue], f.Integers["dtypes.i64"]);
        Assert.Equal([0f, -1f, 1099511627776f], t["dtypes.i64"].ToArray().Take(3));
        TensorAssert.ShapeIs(t["dtypes.i32"], 1, 2);
        Assert.Equal([7L, -8L], f.Integers["dtypes.i32"]);
        TensorAssert.ShapeIs(t["dtypes.scalar"]);
        Assert.Equal(3.5f, t["dtypes.scalar"].Item());
        TensorAssert.ShapeIs(t["dtypes.empty"], 0, 3);
    }

    [Fact]
    public void Read_TorchLinearAndMlp_ReproduceTorchOutputs()
    {
        var f = Safetensors.Read(TorchFile);
        var x = f.Tensors["io.input"];
        var linear = new Linear(4, 3, new Rng(0));
        linear.LoadStateDict(WithPrefix(f, "tiny.linear."));
        TensorAssert.Close(Reference.D(f.Tensors["io.linear_out"]), linear.Forward(x), rtol: 1e-5, atol: 1e-6,
                           what: "Linear vs torch.nn.Linear");
        var mlp = new Mlp(4, 8, Activation.GeluTanh, new Rng(0));
        mlp.LoadStateDict(WithPrefix(f, "mlp."));
        TensorAssert.Close(Reference.D(f.Tensors["io.mlp_out"]), mlp.Forward(x), rtol: 1e-5, atol: 1e-6,
                           what: "Mlp vs timm-style torch Mlp (GELU tanh)");
    }

    [Fact]
    public void Write_ThenRead_RoundTripsF32Exactly_AndRoundsF16AndBf16ToNearestEven()
    {
        var rng = new Rng(11);
        var state = new OrderedDictionary<string, Tensor>
        {
            ["a.weight"] = rng.Normal(3, 5),
            ["a.bias"] = rng.Normal(5).Permute(0),
            ["scalar"] = Tensor.Scalar(-2f),
            ["empty"] = Tensor.Zeros(0, 4),
            ["view"] = rng.Normal(4, 3).Transpose(0, 1),                    // non-contiguous: written row-major
        };
        string path = Path.Combine(dir, "ours.safetensors");
        Safetensors.Write(path, state, new Dictionary<string, string> { ["step"] = "42" });
        var back = Safetensors.Read(path);
        Assert.Equal(state.Keys, back.Tensors.Keys);
        Assert.Equal("42", back.Metadata["step"]);
        foreach (var (k, t) in state)
        {
            Assert.True(t.Shape.SequenceEqual(back.Tensors[k].Shape), k);
            TensorAssert.BitwiseEqual(t.ToArray(), back.Tensors[k].ToArray(), k);
        }
        Assert.Equal(0, (8 + BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(path))) % 8);   // aligned data
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));

        var halfish = new OrderedDictionary<string, Tensor>
            { ["x"] = Tensor.From([1f + MathF.ScaleB(1f, -11), 1f / 3f, 1e6f]) };     // a tie, 1/3, beyond F16
        Safetensors.Write(path, halfish, dtype: SafetensorsDType.F16);
        Assert.Equal([1f, 0.333251953125f, float.PositiveInfinity], Safetensors.Read(path).Tensors["x"].ToArray());
        Safetensors.Write(path, halfish, dtype: SafetensorsDType.BF16);
        Assert.Equal([1f, 0.333984375f, 999424f], Safetensors.Read(path).Tensors["x"].ToArray());
    }

    // ---- bad input ------------------------------------------------------------------------------------------------

    string WriteRaw(string name, string header, int dataBytes, ulong? claimedLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, claimedLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static void Fails(string path, params string[] fragments)
    {
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.Contains(path, ex.Message);
        foreach (var f in fragments) Assert.Contains(f, ex.Message);
    }

    const string Good = """{"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}""";

    [Fact]
    public void Read_TruncatedFile_NamesTheTensorAndTheEnd()
    {
        var bytes = File.ReadAllBytes(TorchFile);
        string cut = Path.Combine(dir, "cut.safetensors");
        File.WriteAllBytes(cut, bytes[..^5]);
        Fails(cut, "data_offsets", "do not lie within");
        File.WriteAllBytes(cut, bytes[..100]);
        Fails(cut, "header length");
        File.WriteAllBytes(cut, bytes[..3]);
        Fails(cut, "fewer than the 8-byte header length");
    }

    [Fact]
    public void Read_CorruptHeaders_GiveClearMessages()
    {
        Fails(WriteRaw("ok-but-short.st", Good, 12), "tensor 't'", "do not lie within the 12-byte data section");
        Fails(WriteRaw("json.st", "{\"t\": [1, 2", 16), "not valid JSON");
        Fails(WriteRaw("array.st", "[1, 2, 3]", 0), "expected an object");
        Fails(WriteRaw("len.st", Good, 16, claimedLength: 1UL << 40), "header length is 1099511627776 bytes");
        Fails(WriteRaw("dtype.st", """{"t":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}""", 2),
              "tensor 't'", "unknown dtype 'Q4'", "F32, F16, BF16");
        Fails(WriteRaw("size.st", """{"t":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}""", 16),
              "tensor 't'", "span 16 bytes, expected 24 (F32, shape [2, 3])");
        Fails(WriteRaw("neg.st", """{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4),
              "'shape' must hold non-negative integers");
        const string a = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        const string b = "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[6,10]}";
        Fails(WriteRaw("overlap.st", "{" + a + "," + b + "}", 10),
              "tensor 'b'", "overlaps tensor 'a'");
        Fails(WriteRaw("offsets.st", """{"t":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}""", 8),
              "data_offsets [8, 4]");
        Fails(WriteRaw("huge.st", """{"t":{"dtype":"F32","shape":[65536,65536],"data_offsets":[0,4]}}""", 4),
              "more than 2^31-1 elements");
        Fails(WriteRaw("meta.st", """{"__metadata__":{"a":1}}""", 0), "__metadata__ value 'a'");
        Fails(WriteRaw("dup.st", """{"t":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"t":{}}""", 4),
              "names 't' twice");
    }
}
