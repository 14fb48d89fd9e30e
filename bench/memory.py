"""This process's memory as Linux keeps it in /proc/self/status."""


def memory_mb(field):
    """``field`` (VmRSS, VmHWM …) in MB. VmHWM is the peak of this program alone: unlike
    getrusage's ru_maxrss, it starts afresh at exec, so a benchmark started by a big
    process (pytest at the end of the suite) does not report its parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise LookupError(field)
