# Sourced by the bench scripts: the one way they run a process under
# libfaketime (issue 27). Preloaded, never through the `faketime` wrapper,
# with FAKETIME_SHARED naming a semaphore/shared-memory pair these scripts
# own: libfaketime then creates no /dev/shm entry named after a process's
# PID, so a killed process leaves nothing that a later one could collide
# with. `faketime_setup LIB_NAME` sets FAKETIME_LIB and exports
# FAKETIME_SHARED; `faketime_cleanup` removes the pair.

faketime_setup() {
    FAKETIME_LIB="$(ls /usr/lib/*/faketime/"$1" 2>/dev/null | head -n1 || true)"
    [[ -n "$FAKETIME_LIB" ]] || return 1
    FAKETIME_PAIR="mfacli_bench_$$"
    python3 - "$FAKETIME_PAIR" <<'PY'
import ctypes, os, struct, sys
name = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.sem_open.restype = ctypes.c_void_p
libc.sem_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_uint]
for stale in (f"/dev/shm/sem.{name}_sem", f"/dev/shm/{name}_shm"):
    if os.path.exists(stale):  # a killed run with this PID
        os.unlink(stale)
sem = libc.sem_open(f"/{name}_sem".encode(), os.O_CREAT | os.O_EXCL, 0o600, 1)
if sem in (None, ctypes.c_void_p(-1).value):
    sys.exit(f"sem_open /{name}_sem: {os.strerror(ctypes.get_errno())}")
libc.sem_close(ctypes.c_void_p(sem))
fd = os.open(f"/dev/shm/{name}_shm", os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
# libfaketime's ft_shared_s: two counters, then start times whose tv_nsec
# of -1 means "not set", as libfaketime's ft_shm_create writes them.
os.write(fd, struct.pack("<10q", 0, 0, 0, -1, 0, -1, 0, -1, 0, -1))
os.ftruncate(fd, 4096)
os.close(fd)
PY
    export FAKETIME_SHARED="/${FAKETIME_PAIR}_sem /${FAKETIME_PAIR}_shm"
}

faketime_cleanup() {
    [[ -n "${FAKETIME_PAIR:-}" ]] || return 0
    rm -f "/dev/shm/sem.${FAKETIME_PAIR}_sem" "/dev/shm/${FAKETIME_PAIR}_shm"
}
