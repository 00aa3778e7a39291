#!/usr/bin/env python3
"""Drives the `ikepulse` shell through a real pseudo-terminal against ikepulse_fake_daemon
(a ControlServer over cli::FakeBackend), and its scripted modes (-c, stdin).

usage: shell_pty_test.py IKEPULSE FAKE_DAEMON

Every read has a deadline; every process started here is stopped by its pid.
"""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest

IKEPULSE = None
FAKE_DAEMON = None
DEADLINE = 10.0  # seconds for any single expectation
# What ASan/LSan/UBSan print (to stderr) when they find something.
SANITIZER_REPORT = re.compile(r"==\d+==ERROR: \w+Sanitizer|SUMMARY: \w+Sanitizer|runtime error:")
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")


def stop(pid):
    """SIGTERM, wait with a deadline, then SIGKILL. Returns the exit status or None."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    end = time.monotonic() + 5
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


class FakeDaemon:
    def __init__(self, path, tick_ms=None, engine=None):
        argv = [FAKE_DAEMON, path] + (["--tick-ms", str(tick_ms)] if tick_ms else [])
        if engine:
            argv += ["--engine", engine]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
        ready, _, _ = select.select([self.proc.stdout], [], [], DEADLINE)
        if not ready or self.proc.stdout.readline().strip() != b"ready":
            stop(self.proc.pid)
            raise RuntimeError("fake daemon did not start")

    def close(self):
        if self.proc.returncode is not None:  # closed already (a test stops it on purpose)
            return
        status = stop(self.proc.pid)
        self.proc.wait(timeout=DEADLINE)
        self.proc.stdout.close()
        # It exits 0 on SIGTERM; anything else is a crash or a sanitizer finding (on stderr).
        if status is None or os.waitstatus_to_exitcode(status) != 0:
            raise AssertionError("fake daemon exit status %r" % status)


class Terminal:
    """`ikepulse` on a pty of 80x24; `screen` is everything it printed, ANSI stripped."""

    def __init__(self, argv, env):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.raw = b""
        self.mark = 0  # expect() searches from here
        self.status = None

    @property
    def screen(self):
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def wait_editing(self, timeout=DEADLINE):
        """Waits until the shell's terminal is out of canonical mode (libedit, or the pager,
        reads keys). libedit prints the prompt just before it switches the terminal, and a key
        typed in between is cooked by the kernel (Ctrl-D = EOF), as on a real terminal."""
        end = time.monotonic() + timeout
        while termios.tcgetattr(self.fd)[3] & termios.ICANON:
            if time.monotonic() > end:
                raise AssertionError("the shell never read from the terminal")
            self._read(0.005)

    def send(self, text):
        self.wait_editing()
        os.write(self.fd, text.encode() if isinstance(text, str) else text)

    def _read(self, timeout):
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the pty
            data = b""
        if not data:
            return None
        self.raw += data
        return True

    def expect(self, pattern, timeout=DEADLINE):
        """Waits until `pattern` (a regex) appears after the mark; moves the mark past it."""
        rx = re.compile(pattern, re.S)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.screen, self.mark)
            if m:
                self.mark = m.end()
                return m
            left = end - time.monotonic()
            if left <= 0 or self._read(left) is None:
                raise AssertionError(
                    "timed out waiting for %r; screen after mark:\n%s"
                    % (pattern, self.screen[self.mark:]))

    def wait_exit(self, expected, timeout=DEADLINE):
        """Waits for ikepulse to exit with status `expected`. Its stderr is the pty, so a
        sanitizer report (which would make the status 1) is only visible on the screen: a
        report, or another status, fails with the screen in the message."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self._read(0.05)
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.status = status
                while self._read(0.05):  # what it printed last (until EIO or quiet)
                    pass
                code = os.waitstatus_to_exitcode(status)
                if code != expected or SANITIZER_REPORT.search(self.screen):
                    raise AssertionError("ikepulse exited with status %d (expected %d); screen "
                                         "after mark:\n%s" % (code, expected,
                                                              self.screen[self.mark:]))
                return code
        raise AssertionError("ikepulse did not exit; screen:\n" + self.screen[self.mark:])

    def close(self):
        if self.status is None:
            stop(self.pid)
        os.close(self.fd)


class ShellTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="ikepulse-shell-")
        self.sock = os.path.join(self.dir.name, "ctl.sock")
        self.home = os.path.join(self.dir.name, "home")
        os.mkdir(self.home)
        self.env = {"HOME": self.home, "TERM": "xterm", "PATH": "/usr/bin:/bin",
                    "LANG": "C.UTF-8"}
        self.daemon = FakeDaemon(self.sock, tick_ms=200)

    def tearDown(self):
        self.daemon.close()
        self.dir.cleanup()

    def run_shell(self, args, stdin_text=None):
        return subprocess.run([IKEPULSE, "--socket", self.sock] + args, input=stdin_text,
                              capture_output=True, text=True, timeout=DEADLINE, env=self.env)

    def test_interactive_session(self):
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            t.send("en\r")
            t.expect(r"Router#")
            t.send("conf t\r")
            t.expect(r"Router\(config\)#")

            # `?` after a partial word: the listing at once, then the same line again.
            t.send("cry isa keep 10 per")
            t.expect(r"per")
            t.send("?")
            t.expect(r"\?\s*\n.*periodic.*\n")
            t.expect(r"Router\(config\)#cry isa keep 10 per")
            # Tab completes the unique keyword.
            t.send("\t")
            t.expect(r"iodic ")  # libedit draws only the inserted text
            t.send("\r")
            t.expect(r"Router\(config\)#")

            # Ctrl-Z: back to privileged EXEC.
            t.send("\x1a")
            t.expect(r"\^Z")
            t.expect(r"Router#")

            # A short terminal length makes `sh run` page.
            t.send("terminal length 5\r")
            t.expect(r"Router#")
            t.send("sh run\r")
            pages = 0
            while t.expect(r"--More--|Router#").group(0) != "Router#":
                pages += 1
                self.assertLess(pages, 100)
                t.send(" ")  # space: the next page
            self.assertGreater(pages, 1)
            self.assertIn("crypto isakmp keepalive 10 periodic", t.screen)
            t.send("terminal length 0\r")
            t.expect(r"Router#")

            # terminal monitor: daemon lines appear above the prompt, the typed text survives.
            t.send("terminal monitor\r")
            t.expect(r"Router#")
            t.send("sh ver")
            t.expect(r"%IKEPULSE-6-TICK: tick \d+\s*\n")
            t.expect(r"Router#sh ver")
            t.send("\x15")  # Ctrl-U: erase the line
            t.send("terminal no monitor\r")
            t.expect(r"Router#")

            t.send("exit\r")
            t.wait_exit(0)
        finally:
            t.close()
        with open(os.path.join(self.home, ".ikepulse_history")) as f:
            history = f.read()
        self.assertIn("conf\\040t", history)  # libedit stores lines vis(3)-encoded

    def test_ios_questions_wait_for_enter(self):
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            t.send("en\r")
            t.expect(r"Router#")
            # `configure` alone asks; Enter chooses terminal.
            t.send("configure\r")
            t.expect(r"Configuring from terminal, memory, or network \[terminal\]\? ")
            t.send("\r")
            t.expect(r"Enter configuration commands, one per line\.  End with CNTL/Z\.")
            t.expect(r"Router\(config\)#")
            t.send("hostname gw1\r")
            t.expect(r"gw1\(config\)#")
            t.send("end\r")
            t.expect(r"gw1#")
            # copy waits for its confirmation before writing anything.
            t.send("copy running-config startup-config\r")
            t.expect(r"Destination filename \[startup-config\]\? ")
            t.send("\r")
            t.expect(r"Building configuration\.\.\.\s*\n\[OK\]")
            t.expect(r"gw1#")
            t.send("show startup-config\r")
            t.expect(r"hostname gw1")
            t.expect(r"gw1#")
            t.send("show clock\r")
            t.expect(r"\*\d\d:\d\d:\d\d\.\d{3} UTC \w{3} \w{3} \d+ \d{4}")
            t.expect(r"gw1#")
            t.send("exit\r")
            t.wait_exit(0)
        finally:
            t.close()

    def test_command_mode_answers_questions_with_the_default(self):
        r = self.run_shell(["-c", "conf t", "-c", "hostname gw2", "-c", "end",
                            "-c", "copy running-config startup-config",
                            "-c", "show startup-config",
                            "-c", "show crypto ipsec transform-set"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Building configuration...\n[OK]\n", r.stdout)
        self.assertIn("hostname gw2", r.stdout)

    def test_ctrl_d_leaves(self):
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            t.send("\x04")
            t.wait_exit(0)
        finally:
            t.close()

    def test_daemon_going_away_is_reported(self):
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            self.daemon.close()
            t.expect(r"Connection to ikepulsed closed")
            t.wait_exit(1)
        finally:
            t.close()
        self.daemon = FakeDaemon(self.sock)

    def test_command_mode(self):
        r = self.run_shell(["-c", "conf t", "-c", "crypto isakmp keepalive 10 periodic",
                            "-c", "end", "-c", "show running-config"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("crypto isakmp keepalive 10 periodic", r.stdout)

    def test_command_mode_stops_at_first_error(self):
        r = self.run_shell(["-c", "conf t", "-c", "crypto isakmp keepalive",
                            "-c", "crypto isakmp keepalive 30"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("command 2 failed: crypto isakmp keepalive", r.stderr)
        r = self.run_shell(["-c", "show running-config"])
        self.assertNotIn("keepalive 30", r.stdout)

    def test_json(self):
        r = self.run_shell(["--json", "-c", "show crypto isakmp sa"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.lstrip().startswith(("{", "[")), r.stdout)
        r = self.run_shell(["--json", "-c", "show no-such-thing"])
        self.assertEqual(r.returncode, 1)

    def test_stdin_mode(self):
        config = ("configure terminal\n"
                  "! a comment\n"
                  "crypto isakmp keepalive 15 periodic\n"
                  "end\n")
        r = self.run_shell([], stdin_text=config)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_shell(["-c", "show running-config"])
        self.assertIn("crypto isakmp keepalive 15 periodic", r.stdout)

    def test_stdin_mode_reports_line_number(self):
        r = self.run_shell([], stdin_text="configure terminal\n\ncrypto isakmp keepalive\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 3 failed", r.stderr)

    def test_stdin_configure_flag(self):
        r = self.run_shell(["--configure"], stdin_text="crypto isakmp keepalive 12\nbogus x\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 2 failed: bogus x", r.stderr)
        r = self.run_shell(["-c", "show running-config"])
        self.assertIn("crypto isakmp keepalive 12", r.stdout)

    def configure_seed(self):
        r = self.run_shell(["--configure"], stdin_text=(
            "crypto isakmp keepalive 10 periodic\n"
            "crypto ipsec transform-set TS esp-aes esp-sha-hmac\n"
            "crypto map M 10 ipsec-isakmp\n set peer 10.0.0.2\n set transform-set TS\n"
            " match address 101\n"
            "interface eth0\n ip address 10.0.0.1 255.255.255.0\n crypto map M\n"
            "access-list 101 permit ip 10.1.0.0 0.0.255.255 10.2.0.0 0.0.255.255\n"))
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_output_modifiers(self):
        self.configure_seed()
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            t.send("enable\r")
            t.expect(r"Router#")
            t.send("show running-config | include keepalive\r")
            t.expect(r"\n(crypto isakmp keepalive 10 periodic\s*\n)Router#")
            t.send("sh run | i transform\r")
            m = t.expect(r"\n(.*?)Router#")
            self.assertEqual(m.group(1).split(),
                             "crypto ipsec transform-set TS esp-aes esp-sha-hmac "
                             "set transform-set TS".split())
            t.send("show running-config | section crypto map\r")
            m = t.expect(r"crypto map\s*\n(.*?)Router#")
            self.assertEqual([l.rstrip() for l in m.group(1).splitlines() if l.strip()],
                             ["crypto map M 10 ipsec-isakmp", " set peer 10.0.0.2",
                              " set transform-set TS", " match address 101",
                              "interface eth0", " crypto map M"])
            t.send("show running-config | count crypto\r")
            t.expect(r"Number of lines which match regexp = 4\s*\nRouter#")
            # `?` offers the modifiers after a show command, then the modifiers themselves.
            t.send("show running-config ")
            t.send("?")
            t.expect(r"\|\s+Output modifiers\s*\n\s*<cr>")
            t.expect(r"Router#show running-config ")
            t.send("| ")
            t.send("?")
            t.expect(r"begin\s+Begin with the line that matches.*include\s+Include lines that "
                     r"match.*section\s+Filter a section of output")
            t.send("\x15")
            # The pager pages the filtered output.
            t.send("terminal length 3\r")
            t.expect(r"Router#")
            t.send("show running-config | exclude ^Current\r")
            t.expect(r"--More--")
            t.send("q")
            t.expect(r"Router#")
            t.send("terminal length 0\r")
            t.expect(r"Router#")
            t.send("show running-config | foo\r")
            t.expect(r"\^\s*\n% Invalid input detected at '\^' marker.")
            t.send("exit\r")
            t.wait_exit(0)
        finally:
            t.close()

    def test_ctrl_z_in_every_configuration_mode(self):
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            t.send("enable\r")
            t.expect(r"Router#")
            for enter, prompt in [
                    ("", r"Router\(config\)#"),
                    ("crypto isakmp policy 10", r"Router\(config-isakmp\)#"),
                    ("crypto ipsec transform-set T esp-aes esp-sha-hmac",
                     r"Router\(cfg-crypto-trans\)#"),
                    ("crypto map M 10 ipsec-isakmp", r"Router\(config-crypto-map\)#"),
                    ("interface eth0", r"Router\(config-if\)#"),
                    ("ip access-list extended VPN", r"Router\(config-ext-nacl\)#")]:
                t.send("configure terminal\r")
                t.expect(r"Router\(config\)#")
                if enter:
                    t.send(enter + "\r")
                    t.expect(prompt)
                t.send("\x1a")
                t.expect(r"\^Z")
                t.expect(r"\nRouter#")
            t.send("exit\r")
            t.wait_exit(0)
        finally:
            t.close()

    def test_paste_running_config(self):
        self.configure_seed()
        saved = self.run_shell(["-c", "show running-config"]).stdout
        self.assertIn("Building configuration...\n\nCurrent configuration : ", saved)
        body = saved.split("\n", 3)[3]  # the config itself, `!` lines and `end` included
        self.assertIn("\n!\n", body)
        self.assertTrue(body.rstrip().endswith("end"))
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            t.send("enable\r")
            t.expect(r"Router#")
            t.send("configure terminal\r")
            t.expect(r"Router\(config\)#")
            t.send(body.replace("hostname Router", "hostname Pasted").replace("\n", "\r") +
                   "\r")
            t.expect(r"Pasted#")
            t.send("exit\r")
            t.wait_exit(0)
        finally:
            t.close()
        self.assertNotIn("Invalid input", t.screen)
        # The same text through --configure: its own `end` is fine.
        r = self.run_shell(["--configure"], stdin_text=body)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertEqual(self.run_shell(["-c", "show running-config"]).stdout.split("\n", 3)[3],
                         body)

    def test_configure_continues_past_bad_lines(self):
        text = ("crypto isakmp keepalive 12\n"
                "bogus x\n"
                "\n"
                "! comment\n"
                "crypto isakmp policy 10\n"
                " encryption nonsense\n"
                " hash sha256\n"
                "end\n")
        r = self.run_shell(["--configure"], stdin_text=text)
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 2 failed: bogus x", r.stderr)
        self.assertIn("line 6 failed:  encryption nonsense", r.stderr)
        run = self.run_shell(["-c", "show running-config"]).stdout
        self.assertIn("crypto isakmp keepalive 12", run)
        self.assertIn(" hash sha256", run)  # the line after the bad one, still in the sub-mode
        # --stop-on-error: nothing after the first bad line runs.
        r = self.run_shell(["--configure", "--stop-on-error"],
                           stdin_text="crypto isakmp keepalive 20\nbogus\nhostname Late\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("line 2 failed: bogus", r.stderr)
        run = self.run_shell(["-c", "show running-config"]).stdout
        self.assertIn("crypto isakmp keepalive 20", run)
        self.assertNotIn("hostname Late", run)

    def test_show_state_before_any_sa(self):
        """The daemon's backend (real engine) with a keep-up entry whose Main Mode gets no
        answer: DPD as configured, the ACL's identities, the session's interface."""
        self.daemon.close()
        cfg = os.path.join(self.dir.name, "engine.cfg")
        with open(cfg, "w") as f:
            f.write("crypto isakmp policy 10\n encryption aes 256\n hash sha256\n"
                    " authentication pre-share\n group 14\n"
                    "crypto isakmp key pty-test-psk address 192.0.2.2\n"
                    "crypto isakmp keepalive 10 2 periodic\n"
                    "crypto ipsec transform-set TS esp-aes esp-sha-hmac\n"
                    "crypto map green 10 ipsec-isakmp\n set peer 192.0.2.2\n"
                    " set transform-set TS\n match address 101\n ikepulse keep-up\n"
                    "interface Gi1\n ip address 192.0.2.1 255.255.255.0\n crypto map green\n"
                    "access-list 101 permit ip 10.1.0.0 0.0.255.255 10.2.0.0 0.0.255.255\n")
        self.daemon = FakeDaemon(self.sock, engine=cfg)
        t = Terminal([IKEPULSE, "--socket", self.sock], self.env)
        try:
            t.expect(r"Router>")
            t.send("enable\r")
            t.expect(r"Router#")
            t.send("show crypto isakmp sa detail\r")
            m = t.expect(r"(DPD: .*?)Router#")
            self.assertNotIn("disabled", m.group(1))
            self.assertIn("DPD: periodic, interval 10 s, retry 2 s, peer has not announced DPD",
                          m.group(1))
            self.assertIn("DPD state: not running yet (Main Mode in progress)", m.group(1))
            t.send("show crypto ipsec sa\r")
            t.expect(r"local  ident \(addr/mask/prot/port\): \(10\.1\.0\.0/255\.255\.0\.0/0/0\)")
            t.expect(r"remote ident \(addr/mask/prot/port\): \(10\.2\.0\.0/255\.255\.0\.0/0/0\)")
            t.expect(r"Router#")
            t.send("show crypto session\r")
            t.expect(r"Interface: Gi1\s*\nSession status: DOWN-NEGOTIATING")
            t.expect(r"Router#")
            t.send("exit\r")
            t.wait_exit(0)
        finally:
            t.close()

    def test_no_daemon(self):
        r = subprocess.run([IKEPULSE, "--socket", os.path.join(self.dir.name, "none"), "-c",
                            "show version"], capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(r.returncode, 2)
        self.assertIn("is ikepulsed running?", r.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    IKEPULSE, FAKE_DAEMON = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    unittest.main(argv=sys.argv[:1] + sys.argv[3:], verbosity=2)
