"""JAX's persistent compilation cache: on by default in a per-user folder, with switches."""

import os
import subprocess
import sys

import jax

import lamina


def _run(code: str, **env) -> str:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("LAMINA_COMPILATION_CACHE", "JAX_COMPILATION_CACHE"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], env=environment, check=True,
                          capture_output=True, text=True).stdout.strip()


PRINT = "import lamina, jax; print(lamina.config.compilation_cache_dir())"


def test_import_turns_the_cache_on_in_the_user_cache_folder(tmp_path):
    assert _run(PRINT, XDG_CACHE_HOME=str(tmp_path)) == str(tmp_path / "lamina" / "jax")
    assert _run(PRINT, LAMINA_COMPILATION_CACHE_DIR=str(tmp_path / "c")) == str(tmp_path / "c")


def test_environment_and_user_settings_win(tmp_path):
    assert _run(PRINT, LAMINA_COMPILATION_CACHE="0") in ("None", "")
    assert _run(PRINT, JAX_COMPILATION_CACHE_DIR=str(tmp_path / "mine")) == str(tmp_path / "mine")


def test_switches_at_run_time(tmp_path):
    before = (jax.config.jax_enable_compilation_cache, jax.config.jax_compilation_cache_dir)
    try:
        lamina.config.disable_compilation_cache()
        assert lamina.config.compilation_cache_dir() is None
        assert lamina.config.enable_compilation_cache(tmp_path) == str(tmp_path)
        assert lamina.config.compilation_cache_dir() == str(tmp_path)
    finally:
        jax.config.update("jax_enable_compilation_cache", before[0])
        jax.config.update("jax_compilation_cache_dir", before[1])


def test_a_second_process_reuses_compiled_steps(tmp_path):
    code = ("import logging, sys\n"
            "logging.basicConfig(stream=sys.stdout)\n"
            "logging.getLogger('jax._src.compilation_cache').setLevel(logging.DEBUG)\n"
            "import jax, numpy as np, lamina as keras\n"
            # the tiny model compiles in under lamina's 0.1 s threshold: store everything
            "jax.config.update('jax_persistent_cache_min_compile_time_secs', 0)\n"
            "i = keras.Input((3,)); m = keras.Model(i, keras.layers.Dense(2)(i))\n"
            "m.compile('sgd', 'mse'); m.fit(np.ones((8, 3)), np.ones((8, 2)), verbose=0)\n")
    first = _run(code, LAMINA_COMPILATION_CACHE_DIR=str(tmp_path))
    assert "Writing jit_blocks" in first  # the train loop was compiled and stored
    assert os.listdir(tmp_path)
    second = _run(code, LAMINA_COMPILATION_CACHE_DIR=str(tmp_path))
    assert "Writing jit_blocks" not in second  # ... and loaded, not compiled, next time
