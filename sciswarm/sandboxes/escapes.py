"""The programs the conformance suite runs inside a sandbox: each one tries to escape or overrun it.

Plain Python (stdlib only, run with `python3 -c CODE ARGS...`), parameterised through argv so the same code
works in any provider. Every program reports what it managed to do on stdout, one `key=value` per line.
"""

SLEEP = "import time; time.sleep(60)"

HEARTBEAT = """
import os, signal, sys, time
if len(sys.argv) > 2 and sys.argv[2] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
f = open(sys.argv[1], "a")
print("heartbeat=started", flush=True)
while True:
    f.write("."); f.flush()
    time.sleep(0.1)
"""

# The parent starts a setsid'd, SIGTERM/SIGHUP-ignoring daemon that keeps writing, waits until it is
# running, then exits 0: the run is over, the daemon must not be.
SETSID_DAEMON = """
import os, signal, subprocess, sys, time
hb_code = sys.argv[1]
child = subprocess.Popen(
    [sys.executable, "-c", hb_code, "daemon.hb", "ignore-term"],
    start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
open("daemon.pid", "w").write(str(child.pid))
deadline = time.time() + 5
while not os.path.exists("daemon.hb") and time.time() < deadline:
    time.sleep(0.05)
print(f"daemon_pid={child.pid} running={os.path.exists('daemon.hb')}", flush=True)
"""

HARNESS_EDIT = """
import json, os, sys, time
host_pid = int(sys.argv[1])
spec_path = os.environ.get("SCISWARM_SPEC", "/harness/spec.json")
try:
    spec = json.load(open(spec_path))
    spec["timeout_s"] = 99999
    with open(spec_path, "w") as f:
        json.dump(spec, f)
    print(f"spec_write=ok {spec_path}", flush=True)
except OSError as e:
    print(f"spec_write=failed {spec_path}: {e.strerror}", flush=True)
try:
    os.kill(host_pid, 0)
    print(f"signal_supervisor=ok pid {host_pid}", flush=True)
except OSError as e:
    print(f"signal_supervisor=failed pid {host_pid}: {e.strerror}", flush=True)
time.sleep(60)
"""

WRITE_OUTSIDE = """
import sys
for path in sys.argv[1:]:
    try:
        with open(path, "w") as f:
            f.write("escaped")
        print(f"write=ok {path}", flush=True)
    except OSError as e:
        print(f"write=failed {path}: {e.strerror}", flush=True)
"""

NETWORK = """
import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1.5):
            print(f"connect=ok {target}", flush=True)
    except OSError as e:
        print(f"connect=failed {target}: {e.strerror or e}", flush=True)
"""

MEMORY = """
import sys
limit_mb, step_mb = int(sys.argv[1]), 16
held = []
for i in range(1, 4 * limit_mb // step_mb + 1):
    held.append(b"\\x01" * (step_mb << 20))  # filled, so the pages are really resident
    print(f"allocated_mb={i * step_mb}", flush=True)
print("allocation=unbounded", flush=True)
"""

# Every process keeps forking for 2 s (exponential), appending one byte per successful fork to a shared
# O_APPEND file so the host can count them; afterwards all of them sleep, holding their pid slots.
FORK_BOMB = """
import os, time
counter = os.open("forks.count", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
root, failures, end = os.getpid(), 0, time.time() + 2.0
while time.time() < end:
    try:
        pid = os.fork()
    except OSError:
        failures += 1
        time.sleep(0.01)
        continue
    if pid == 0:
        failures = 0
        continue
    os.write(counter, b".")
if os.getpid() == root:
    print(f"fork_failures={failures}", flush=True)
time.sleep(60)
"""

FILL_TMP = """
import os, sys
target, max_mb, step = sys.argv[1], int(sys.argv[2]), 8
written = 0
try:
    os.makedirs(target, exist_ok=True)
    chunk = b"\\0" * (step << 20)
    while written < max_mb:
        with open(os.path.join(target, f"fill{written}"), "wb") as f:
            f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        written += step
    print(f"written_mb={written} stopped=no", flush=True)
except OSError as e:
    print(f"written_mb={written} stopped={e.strerror}", flush=True)
"""

READ_SECRET = """
import sys
for path in sys.argv[1:]:
    try:
        data = open(path, "rb").read()
        print(f"read=ok {path} {len(data)} bytes: {data[:200]!r}", flush=True)
    except OSError as e:
        print(f"read=failed {path}: {e.strerror}", flush=True)
"""

DUMP_ENV = "import os; print('\\n'.join(f'{k}={v}' for k, v in sorted(os.environ.items())))"

PRINT_RAN = "print('ran=yes')"
