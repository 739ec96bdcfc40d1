"""Loading artifacts, their properties, the library's lookup, and the logits
against Hugging Face's."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pmpd
from conftest import BUILD, MODEL, REFS, SCHEDULE, run_json


def test_properties(model, fp16):
    assert model.schedule == SCHEDULE
    assert fp16.schedule == "prefill=16;decode=16@0"
    assert model.target == fp16.target == "cpu"
    assert model.device.startswith("cpu (")
    assert model.vocab_size == 8192 and model.max_positions == 1024
    assert repr(model) == f"pmpd.Model({model.path!r}, {SCHEDULE})"


def test_threads(pmpd_artifact):
    with pmpd.load(pmpd_artifact, threads=1) as one:
        assert one.device.endswith(", 1 thread") or \
            one.device.endswith(", 1 threads")
    with pytest.raises(pmpd.PMPDError, match="-1 threads"):
        pmpd.load(pmpd_artifact, threads=-1)


def test_bad_artifacts(tmp_path):
    with pytest.raises(pmpd.PMPDError,
                       match="missing.manifest.json.*made by pmpd-compile"):
        pmpd.load(tmp_path / "missing")
    # A model directory is not an artifact.
    with pytest.raises(pmpd.PMPDError, match="manifest.json"):
        pmpd.load(MODEL)


def test_closed_model(pmpd_artifact):
    model = pmpd.load(pmpd_artifact)
    model.close()
    model.close()
    assert "closed" in repr(model)
    with pytest.raises(pmpd.PMPDError, match="the model is closed"):
        model.generate("x")
    with pytest.raises(pmpd.PMPDError, match="the model is closed"):
        model.tokenizer.encode("x")


def test_logits_match_huggingface(fp16):
    prompt = __import__("json").loads(
        (REFS / "ref_greedy.json").read_text())["prompts"][0]
    reference = np.load(REFS / "ref_logits_prompt0.npy")[0]
    logits = fp16.logits(prompt)
    assert logits.shape == (48, 8192) and logits.dtype == np.float32
    assert float(np.abs(logits - reference).max()) < 0.05


def test_steps_match_logits_and_schedule(model):
    ids = model.tokenizer.encode("def main(argv):\n    print(argv)\n    return 0\n")
    assert len(ids) >= 10
    every = model.logits(ids)
    model.reset()
    last = model.prefill(ids[:4])
    np.testing.assert_array_equal(last, model.logits(ids[:4])[-1])
    # logits() reset the cache: prefill again, then decode the rest.
    model.reset()
    model.prefill(ids[:4])
    bits = []
    for step, token in enumerate(ids[4:10]):
        logits, ran = model.decode(token, step)
        bits.append(ran)
        assert logits.shape == (8192,)
    assert bits == [4, 4, 3, 3, 2, 2]
    # Prefill runs at 4 bits, like the first decode steps.
    model.reset()
    model.prefill(ids[:4])
    step0, _ = model.decode(ids[4], 0)
    np.testing.assert_allclose(step0, every[4], atol=1e-3)


def test_step_errors(model):
    model.reset()
    with pytest.raises(pmpd.PMPDError, match="no tokens to run"):
        model.prefill([])
    with pytest.raises(pmpd.PMPDError, match="outside the vocabulary"):
        model.decode(-5, 0)
    with pytest.raises(pmpd.PMPDError, match="no tokens to run"):
        model.logits([])
    with pytest.raises(TypeError):
        model.logits([[1, 2]])


def run_python(code, **env):
    environment = {k: v for k, v in os.environ.items()
                   if k != "PMPD_LIBRARY"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], env=environment,
                          capture_output=True, text=True)


def test_import_needs_no_library():
    result = run_python("import pmpd; print(pmpd.library_path())",
                        LD_LIBRARY_PATH="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "libpmpd.so"


def test_library_not_found(tmp_path):
    missing = tmp_path / "libpmpd.so"
    result = run_python("import pmpd; pmpd.load('x')", PMPD_LIBRARY=str(missing))
    assert result.returncode != 0
    assert f"PMPD_LIBRARY={missing}: no such file" in result.stderr
    result = run_python("import pmpd; pmpd.load('x')", LD_LIBRARY_PATH="")
    assert "cannot load libpmpd.so" in result.stderr
    assert "set PMPD_LIBRARY" in result.stderr


def test_library_on_the_loader_path(pmpd_artifact):
    result = run_python(
        f"import pmpd; print(pmpd.load({str(pmpd_artifact)!r}).schedule)",
        LD_LIBRARY_PATH=str(BUILD / "lib"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == SCHEDULE
