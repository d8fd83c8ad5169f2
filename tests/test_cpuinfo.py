"""conformance.cpuinfo: the CPU's model, vendor and vector features, from /proc/cpuinfo or best effort."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from conformance import cpuinfo
from conformance.cpuinfo import ARM_FEATURES, X86_FEATURES, cpu_info, parse_proc_cpuinfo

# two processor blocks of an AVX2-only x86 machine (no AVX-512, so no oneDNN by TF's default)
AVX2_ONLY = """\
processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 23
model name\t: AMD EPYC 7B12
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni

processor\t: 1
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7B12
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni
"""
SAPPHIRE_RAPIDS = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16 avx512_fp16 \
avx_vnni amx_bf16 amx_tile amx_int8
"""
NEOVERSE = """\
processor\t: 0
BogoMIPS\t: 2100.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp asimddp bf16 i8mm sve sve2
CPU implementer\t: 0x41
CPU part\t: 0xd4f
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "cpuinfo"
    p.write_text(text)
    return p


def test_parse_avx2_only_x86() -> None:
    got = parse_proc_cpuinfo(AVX2_ONLY)
    assert got["model"] == "AMD EPYC 7B12" and got["vendor"] == "AuthenticAMD"
    assert got["logical_cpus"] == 2
    assert {"avx2", "fma", "sse4_2"} <= got["flags"] and "avx512f" not in got["flags"]


def test_cpu_info_lists_present_and_missing_features(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpuinfo.platform, "machine", lambda: "x86_64")
    info = cpu_info(write(tmp_path, SAPPHIRE_RAPIDS))
    assert info["model"] == "Intel(R) Xeon(R) Platinum 8480+" and info["vendor"] == "GenuineIntel"
    assert info["source"] == str(tmp_path / "cpuinfo") and info["machine"] == "x86_64"
    assert {"avx512f", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "avx_vnni"} <= set(info["features"])
    assert "amx_fp16" in info["missing"] and "avx512_fp16" not in info["missing"]
    assert sorted(info["features"] + info["missing"]) == sorted(X86_FEATURES)  # every relevant one, once
    json.dumps(info)  # goes into run.json as it is

    plain = cpu_info(write(tmp_path, AVX2_ONLY))
    assert {"sse4_2", "avx", "avx2", "fma"} <= set(plain["features"])
    assert not any(f.startswith(("avx512", "amx")) for f in plain["features"])
    assert {"avx512f", "avx512_bf16", "avx_vnni", "amx_tile"} <= set(plain["missing"])


def test_cpu_info_arm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpuinfo.platform, "machine", lambda: "aarch64")
    info = cpu_info(write(tmp_path, NEOVERSE))
    assert info["vendor"] == "ARM"  # implementer 0x41
    assert {"asimd", "bf16", "i8mm", "sve", "sve2"} <= set(info["features"])
    assert "sme" in info["missing"]
    assert sorted(info["features"] + info["missing"]) == sorted(ARM_FEATURES)


def test_cpu_info_without_proc_cpuinfo_is_best_effort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpuinfo.platform, "system", lambda: "Windows")
    monkeypatch.setattr(cpuinfo.platform, "processor", lambda: "Intel64 Family 6 Model 85 Stepping 7, GenuineIntel")
    info = cpu_info(tmp_path / "absent")
    assert info["source"] == "platform"
    assert info["model"] == "Intel64 Family 6 Model 85 Stepping 7, GenuineIntel"
    assert info["features"] is None and info["missing"] is None  # unknown, never "none"


@pytest.mark.skipif(not Path("/proc/cpuinfo").exists(), reason="no /proc/cpuinfo (not Linux)")
def test_cpu_info_on_this_machine_matches_proc_flags() -> None:
    info = cpu_info()
    flags = parse_proc_cpuinfo(Path("/proc/cpuinfo").read_text())["flags"]
    assert info["source"] == "/proc/cpuinfo" and info["machine"] == platform.machine()
    if flags is not None:
        assert set(info["features"]) == {f for f in info["features"] + info["missing"] if f in flags}
        if platform.machine() == "x86_64":
            assert "sse4_2" in info["features"]  # every x86-64 machine TensorFlow's wheels run on


def test_onednn_isa_cap_and_tensorflow_default_follow_the_environment() -> None:
    from conformance.cpuinfo import effective_features, tf_onednn_expected

    zen4 = ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni"]
    assert effective_features(zen4, {}) == zen4
    assert effective_features(zen4, {"ONEDNN_MAX_CPU_ISA": "avx2"}) == ["avx2"]
    assert effective_features(zen4, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_VNNI"}) == [
        "avx2", "avx512f", "avx512_vnni", "avx_vnni"]
    assert effective_features(zen4, {"ONEDNN_MAX_CPU_ISA": "no-such-level"}) == zen4  # oneDNN ignores it too
    assert effective_features(None, {}) is None
    assert tf_onednn_expected(["avx2", "fma"], {}) is False  # an AVX2 machine: TensorFlow keeps oneDNN off
    assert tf_onednn_expected(zen4, {}) is True
    assert tf_onednn_expected(zen4, {"TF_ENABLE_ONEDNN_OPTS": "0"}) is False
    assert tf_onednn_expected(["avx2"], {"TF_ENABLE_ONEDNN_OPTS": "TRUE"}) is True
    assert tf_onednn_expected(["avx2"], {"TF_ENABLE_ONEDNN_OPTS": "yes"}) is False  # ignored: the default
    assert tf_onednn_expected(None, {}) is None


def test_as_cpu_sets_the_knobs_and_run_json_reads_them_back() -> None:
    import json
    import subprocess
    import sys

    from tests.runner import ROOT

    code = "import json; from conformance.cpuinfo import host_conditions as h; print(json.dumps(h()))"
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "as-cpu"), "avx2", "--", sys.executable, "-c", code],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    host = json.loads(p.stdout)
    assert host["tf_onednn"] is False and host["onednn_max_cpu_isa"] == "AVX2"
    assert host["isa_knobs"]["XLA_FLAGS"].endswith("--xla_cpu_max_isa=AVX2")
    if host["effective_features"] is not None:
        assert not [f for f in host["effective_features"] if f.startswith(("avx512", "amx"))]
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "as-cpu"), "avx9", "--", "true"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "avx2|avx512" in bad.stderr
