#!/usr/bin/env bash
# Builds and runs the LibTorch 2.10 peer (Program.cs here) once into /tmp/spacetime-tsbench; prints its JSON line.
#   bench/torchsharp/run.sh [--hidden 384 --heads 6 --depth 12 --batch 8 --frames 8 --size 16 --threads 2 --reps 3]
# Benchmark only: TorchSharp's libLibTorchSharp.so asks for GLIBCXX_3.4.32 and Debian 12 has 3.4.30. The workaround is
# shared/perf/torchsharp's (a one-symbol shim, preloaded, and a rewrite of the library's one version need), used from
# there, not copied. Needs NuGet's TorchSharp-cpu 0.107.0 (about 200 MB of LibTorch, restored on the first run).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for cand in "${TORCHSHARP_SHIM_DIR:-}" "$here/../../../shared/perf/torchsharp" /work/shared/perf/torchsharp; do
  if [[ -n "$cand" && -f "$cand/shim.cpp" ]]; then shim=$cand; break; fi
done
[[ -n "${shim:-}" ]] || { echo "shared/perf/torchsharp (shim.cpp) not found; set TORCHSHARP_SHIM_DIR" >&2; exit 1; }
w=/tmp/spacetime-tsbench
if [[ ! -f $w/bin/Release/net10.0/TsBench.dll || "$here/Program.cs" -nt $w/bin/Release/net10.0/TsBench.dll ]]; then
  mkdir -p $w && cp "$here/Program.cs" $w/
  cat > $w/TsBench.csproj <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
  </ItemGroup>
</Project>
XML
  dotnet build $w -c Release -v q -nologo >&2
  g++ -shared -fPIC -O2 -o $w/libshim.so "$shim/shim.cpp" -Wl,--version-script="$shim/shim30.map"
  so=$w/bin/Release/net10.0/runtimes/linux-x64/native/libLibTorchSharp.so
  if grep -q GLIBCXX_3.4.32 $so; then                   # a rebuild may copy the unpatched library back
    python3 "$shim/patch_glibcxx.py" $so $so.patched >&2 && mv $so.patched $so
  fi
fi
LD_PRELOAD=$w/libshim.so dotnet $w/bin/Release/net10.0/TsBench.dll "$@" | tail -n 1
