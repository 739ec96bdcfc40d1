"""scripts/report.py's judgements, on made-up measurements: the Pareto
front, and PMPD against uniform quantization at equal bits."""
import importlib.util

from conftest import ROOT
from pmpd.tune import Quality, Schedule, uniform

spec = importlib.util.spec_from_file_location("report",
                                              ROOT / "scripts" / "report.py")
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def quality(bits, kl, ppl, top1):
    return Quality(schedule="", ppl=ppl, kl=kl, top1_agreement=top1,
                   average_decode_bits=bits, tokens=1, decode_steps=1)


UNIFORM = [("uniform", "", uniform(b), q) for b, q in [
    (4, quality(4.0, 0.02, 20.0, 0.9)), (3, quality(3.0, 0.10, 22.0, 0.8)),
    (2, quality(2.0, 0.50, 30.0, 0.6))]]


def test_pareto_front():
    points = [quality(4, 0.02, 0, 0), quality(3, 0.10, 0, 0),
              quality(3.5, 0.12, 0, 0), quality(2, 0.5, 0, 0),
              quality(3, 0.10, 0, 0)]
    # 3.5 bits at 0.12 is beaten by 3 bits at 0.10; equal points both stay.
    assert report.pareto(points) == [0, 1, 3, 4]


def test_findings_at_equal_bits():
    # At 3.5 bits the uniform line is KL 0.06, ppl 21, top-1 0.85.
    better = quality(3.5, 0.05, 20.5, 0.86)
    worse = quality(3.5, 0.07, 20.5, 0.86)
    rows = UNIFORM + [("static PMPD, tuned", "", Schedule(4, 10, None), q)
                      for q in (better, worse)]
    text = "\n".join(report.findings(rows))
    assert "| 3.500 | 20.500 (21.000) | 0.05000 (0.06000) | 86.00% (85.00%) " \
        "| yes |" in text
    assert "| 0.07000 (0.06000) | 86.00% (85.00%) | no |" in text
    assert "1 of 2 PMPD schedules beat uniform" in text
    # (0.50 - 0.10) / (0.10 - 0.02)
    assert "costs 5.0× the step from 4 to 3" in text
