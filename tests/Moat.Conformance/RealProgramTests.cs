using System.IO;
using Moat.Conformance.Harness;

namespace Moat.Conformance;

/// <summary>Real programs from the host, unmodified, under <c>moat do</c>.</summary>
public sealed class RealProgramTests
{
    private const string Busybox = "/bin/busybox";

    [Fact]
    public void BusyboxEcho_PrintsHello()
    {
        RunResult r = MoatCli.Do([Busybox, "echo", "hello"], Path.GetTempPath());
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("hello\n", r.StdoutText);
    }

    [Fact]
    public void BusyboxCat_ReadsAHostFile_LikeNative()
    {
        string file = Path.Combine(HostScratch.NewDirectory("cat"), "input.txt");
        File.WriteAllText(file, "first line\nsecond line\n");
        try
        {
            RunResult native = ProcessRunner.Run(Busybox, ["cat", file], Path.GetTempPath());
            RunResult moat = MoatCli.Do([Busybox, "cat", file], Path.GetTempPath());
            Assert.Equal(native.ExitCode, moat.ExitCode);
            Assert.Equal(native.StdoutText, moat.StdoutText);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void BusyboxCat_MissingFile_FailsLikeNative()
    {
        RunResult native = ProcessRunner.Run(Busybox, ["cat", "/nonexistent/moat"], "/");
        RunResult moat = MoatCli.Do([Busybox, "cat", "/nonexistent/moat"], "/");
        Assert.Equal(native.ExitCode, moat.ExitCode);
        Assert.Contains("No such file or directory", moat.Stderr);
    }

    [Fact]
    public void ProgramOnPath_IsFound()
    {
        // busybox-static installs /bin/busybox; PATH lookup happens inside the sandbox, through the gofer.
        RunResult r = MoatCli.Do(["busybox", "echo", "found"], "/");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("found\n", r.StdoutText);
    }

    [Fact]
    public void Python_ThreadsSubprocessAsyncio_MatchNative()
    {
        const string Script = """
            import asyncio, json, decimal, subprocess, threading, tempfile, os
            out = []
            t = threading.Thread(target=lambda: out.append("thread"))
            t.start(); t.join()
            print(out, json.dumps({"d": str(decimal.Decimal("1.10") + decimal.Decimal("2.2"))}))
            print(subprocess.run(["echo", "sub"], capture_output=True, text=True).stdout.strip())
            async def main():
                p = await asyncio.create_subprocess_exec("echo", "async", stdout=asyncio.subprocess.PIPE)
                o, _ = await p.communicate()
                return o.decode().strip()
            print(asyncio.run(main()))
            with tempfile.NamedTemporaryFile("w+", delete=False) as f:
                f.write("temp")
            print(open(f.name).read()); os.unlink(f.name)
            """;
        string dir = HostScratch.NewDirectory("python");
        RunResult native = ProcessRunner.Run("/usr/bin/python3", ["-c", Script], dir);
        RunResult moat = MoatCli.Do(["/usr/bin/python3", "-c", Script], dir);
        Assert.Equal(0, native.ExitCode);
        Assert.Equal(native.ExitCode, moat.ExitCode);
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void Python_MultiprocessingStartMethods_PassFilesOverUnixSockets()
    {
        // forkserver binds a unix socket to a path, chmods it and sends every child its fds with
        // SCM_RIGHTS; Connection objects cross to spawn and forkserver children the same way.
        const string Script = """
            import multiprocessing as mp, socket, os
            if __name__ == "__main__":
                a, b = socket.socketpair()
                r, w = os.pipe()
                socket.send_fds(a, [b"x"], [w])
                _, fds, _, _ = socket.recv_fds(b, 1, 1)
                os.write(fds[0], b"rights")
                print(os.read(r, 6).decode())
                for m in ("fork", "forkserver", "spawn"):
                    ctx = mp.get_context(m)
                    p, c = ctx.Pipe()
                    pr = ctx.Process(target=c.send, args=(m,))
                    pr.start()
                    print(p.recv())
                    pr.join()
                    print(pr.exitcode)
            """;
        string dir = HostScratch.NewDirectory("python-mp");
        RunResult native = ProcessRunner.Run("/usr/bin/python3", ["-c", Script], dir);
        RunResult moat = MoatCli.Do(["/usr/bin/python3", "-c", Script], dir);
        Assert.Equal(0, native.ExitCode);
        Assert.True(native.ExitCode == moat.ExitCode, $"exit status: native {native.ExitCode}, moat {moat.ExitCode}\nmoat stderr:\n{moat.Stderr}");
        Assert.Equal(native.StdoutText, moat.StdoutText);
    }

    [Fact]
    public void Gcc_CompilesAndRunsAProgram_InsideTheSandbox()
    {
        string dir = HostScratch.NewDirectory("gcc");
        RunResult r = MoatCli.Do(["/bin/sh", "-c", "printf 'int main(void){return 7;}' > m.c && gcc -o m m.c && ./m; echo $?"], dir);
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("7\n", r.StdoutText);
        Assert.False(File.Exists(Path.Combine(dir, "m")), "the build output stays in the sandbox");
    }
}
