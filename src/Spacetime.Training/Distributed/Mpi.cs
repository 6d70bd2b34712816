// Mpi: the few MPI calls data-parallel training needs, over Open MPI's C library (libmpi.so.40, Debian's
// libopenmpi3) through function pointers from NativeLibrary: no C shim to build, no NuGet package. (MPI.NET 1.4 from
// NuGet binds MS-MPI's msmpi.dll, whose handles are integers; Open MPI's are pointers, so it cannot load here.)
//
// Open MPI's predefined handles are the addresses of exported globals (mpi.h, OMPI_PREDEFINED_GLOBAL):
//     MPI_COMM_WORLD = &ompi_mpi_comm_world   MPI_FLOAT = &ompi_mpi_float   MPI_BYTE = &ompi_mpi_byte
//     MPI_SUM = &ompi_mpi_op_sum              MPI_MAX = &ompi_mpi_op_max    MPI_IN_PLACE = (void*)1
// Calls: MPI_Init_thread (MPI_THREAD_SERIALIZED: the training loop may move between threads, never calls at once),
// MPI_Comm_size, MPI_Comm_rank, MPI_Allreduce (in place), MPI_Bcast, MPI_Abort, MPI_Finalize. Return codes are not
// checked after init: MPI's default error handler (MPI_ERRORS_ARE_FATAL) ends the job on any failure.
//
// A process is a rank when mpirun started it: Open MPI sets OMPI_COMM_WORLD_SIZE (and PMIX_RANK) in its environment.
// Without them, Join returns the world of one and MPI is never loaded, so a machine without Open MPI trains as before.
using System.Runtime.InteropServices;

namespace Spacetime.Training.Distributed;

/// <summary>Joins the MPI world when mpirun started this process.</summary>
public static class Mpi
{
    /// <summary>What to install, said wherever Open MPI is missing.</summary>
    public const string InstallHint = "install Open MPI: apt-get install openmpi-bin libopenmpi-dev";

    const string Library = "libmpi.so.40";

    /// <summary>This process's rank as mpirun set it in the environment (before MPI is loaded), or null when mpirun
    /// did not start it.</summary>
    public static int? LaunchedRank =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK"), out int rank) ? rank : null;

    /// <summary>
    /// The world this process belongs to: MPI's when Open MPI's mpirun started it (MPI is initialised here and
    /// finalised when the communicator is disposed), else <see cref="Communicator.Single"/>. Throws
    /// <see cref="DistributedException"/> when another MPI's launcher started it or libmpi cannot be loaded.
    /// </summary>
    public static Communicator Join()
    {
        bool openMpi = Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is not null;
        if (!openMpi && Environment.GetEnvironmentVariable("PMI_RANK") is not null)
            throw new DistributedException("started by an MPI launcher other than Open MPI's (PMI_RANK is set); " +
                                           $"Spacetime talks to Open MPI: {InstallHint}, and start with its mpirun");
        if (!openMpi) return Communicator.Single;
        if (!NativeLibrary.TryLoad(Library, out nint lib))
            throw new DistributedException($"mpirun started this process but {Library} cannot be loaded; {InstallHint}");
        return new MpiCommunicator(lib);
    }
}

/// <summary>MPI_COMM_WORLD through Open MPI's C API.</summary>
internal sealed unsafe class MpiCommunicator : Communicator
{
    const int ThreadSerialized = 2;                              // MPI_THREAD_SERIALIZED in Open MPI's mpi.h
    static readonly void* InPlace = (void*)1;                    // MPI_IN_PLACE

    readonly nint world, floatType, byteType, sum, max;
    readonly delegate* unmanaged<void*, void*, int, nint, nint, nint, int> allreduce;   // send, recv, count, type, op, comm
    readonly delegate* unmanaged<void*, int, nint, int, nint, int> bcast;               // buffer, count, type, root, comm
    readonly delegate* unmanaged<nint, int, int> abort;                                  // comm, error code
    readonly delegate* unmanaged<int> finalize;
    readonly int rank, size;
    bool finalized;

    public MpiCommunicator(nint lib)
    {
        nint Export(string name) => NativeLibrary.TryGetExport(lib, name, out nint address) ? address
            : throw new DistributedException($"libmpi.so.40 has no {name}: not Open MPI 4 or 5; {Mpi.InstallHint}");
        (world, floatType, byteType) = (Export("ompi_mpi_comm_world"), Export("ompi_mpi_float"), Export("ompi_mpi_byte"));
        (sum, max) = (Export("ompi_mpi_op_sum"), Export("ompi_mpi_op_max"));
        var init = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        var commSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size");
        var commRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank");
        allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce");
        bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast");
        abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort");
        finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        int provided, r, s;
        if (init(null, null, ThreadSerialized, &provided) != 0 || provided < ThreadSerialized)
            throw new DistributedException($"MPI_Init_thread failed (thread support {provided}); {Mpi.InstallHint}");
        commRank(world, &r);
        commSize(world, &s);
        (rank, size) = (r, s);
    }

    public override int Rank => rank;
    public override int Size => size;

    public override void AllreduceSum(Span<float> values) => Allreduce(values, sum);
    public override void AllreduceMax(Span<float> values) => Allreduce(values, max);

    void Allreduce(Span<float> values, nint op)
    {
        fixed (float* p = values) allreduce(InPlace, p, values.Length, floatType, op, world);
    }

    public override void Broadcast(Span<byte> bytes)
    {
        fixed (byte* p = bytes) bcast(p, bytes.Length, byteType, 0, world);
    }

    public override void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        abort(world, exitCode);
        Environment.Exit(exitCode);                              // MPI_Abort does not return; in case it does
    }

    public override void Dispose()
    {
        if (finalized) return;
        finalized = true;
        finalize();
    }
}
