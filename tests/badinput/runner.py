"""Run the bad-input corpus (``corpus.json``) in this one process and write what happened as JSON.

    python tests/badinput/runner.py --out results.json [--ids ID ...] [--start-after ID]

Every case runs through the surfaces it lists: ``parity`` (``parity.cli.main.main(argv)``, ``check ... --level
lformula``), ``pyreterms`` (``pyreterms.cli.main(argv)``, ``lformula``), ``api`` (``pyreterms.lformula``; cases with
``"level": "fit"`` use ``--level fit``, ``lmer`` and ``pyreterms.lmer``)
and ``parity-api`` (``parity.compare.check.check``), in a fresh temporary working directory holding the data
files, a canary file and an ``evil.R``.  For each run it records the exit code (or the exception type),
stderr, warnings that are not lme4's, and the canaries: files created or deleted in the working
directory and the ``PWNED`` variable of the C environment.  The records are written one JSON object
a line, flushed before and after each run, so a crash (segfault) leaves the case that caused it as the
last ``start`` record.  ``tests/live/test_badinput.py`` judges the records.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import io
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CANARY = "canary.txt"


def small_frame(n: int = 36) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    g = [f"g{i % 6}" for i in range(n)]
    return pd.DataFrame({
        "y": np.round(rng.normal(size=n) + np.arange(n) % 6, 3), "x": np.round(rng.normal(size=n), 3),
        "z": np.round(rng.normal(size=n), 3), "g": g, "h": [f"h{i % 3}" for i in range(n)],
        "f": [("a", "b", "c")[i % 3] for i in range(n)], "w": np.round(1 + rng.random(n), 3),
        "o": np.round(rng.normal(size=n) / 10, 3), "s": [f"s{i}" for i in range(n)],
        "neg": np.where(np.arange(n) == 3, -1.0, 1.0), "bflag": [i % 2 == 0 for i in range(n)],
    })


def write_files(d: Path) -> None:
    base = small_frame()
    base.to_csv(d / "small.csv", index=False)
    text = (d / "small.csv").read_text()
    lines = text.splitlines()
    (d / CANARY).write_text("canary\n")
    (d / "evil.R").write_text("file.create('PWNED')\n")
    (d / "a_directory").mkdir()
    (d / "nul.csv").write_bytes(text.replace("g1", "g\x001", 1).encode())
    (d / "latin1.csv").write_bytes(text.replace("g1", "g\u00e91").encode("latin-1"))
    (d / "empty.csv").write_bytes(b"")
    (d / "blank.csv").write_text("\n\n  \n")
    (d / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (d / "ragged.csv").write_text(lines[0] + "\n" + lines[1] + ",extra,fields\n" + "\n".join(lines[2:]) + "\n")
    (d / "header_only.csv").write_text(lines[0] + "\n")
    (d / "onecol.csv").write_text("y\n" + "\n".join(str(i) for i in range(20)) + "\n")
    (d / "onerow.csv").write_text(lines[0] + "\n" + lines[1] + "\n")
    for name, fn in [("inf.csv", lambda b: b.assign(x=np.where(np.arange(len(b)) == 3, np.inf, b.x))),
                     ("inf_y.csv", lambda b: b.assign(y=np.where(np.arange(len(b)) == 3, np.inf, b.y))),
                     ("allna.csv", lambda b: b.assign(y=np.nan)),
                     ("onegroup.csv", lambda b: b.assign(g="g0")),
                     ("big_unused.csv", lambda b: b.assign(big=3000000000 + np.arange(len(b)))),
                     ("big_group.csv", lambda b: b.assign(g=(np.arange(len(b)) % 6) * 3000000000)),
                     ("int64min.csv", lambda b: b.assign(m=np.where(np.arange(len(b)) == 0, -2**63, 1))),
                     ("mixed.csv", lambda b: b.assign(x=[str(v) if i != 4 else "a" for i, v in enumerate(b.x)])),
                     ("longstring.csv", lambda b: b.assign(g=[("L" * 100000) + v for v in b.g])),
                     ("bool_group.csv", lambda b: b.assign(g=[i % 2 == 0 for i in range(len(b))])),
                     ("sci.csv", lambda b: b.assign(x=[f"{v:e}" for v in b.x]))]:
        fn(base.copy()).to_csv(d / name, index=False)
    (d / "huge_group.csv").write_text("y,x,g\n" + "".join(f"{i % 7},{i},{2**70 + (i % 5) * 2**20}\n" for i in range(30)))
    (d / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (d / "crlf.csv").write_bytes(text.replace("\n", "\r\n").encode())
    (d / "quoted_newline.csv").write_text(text.replace("s1,", '"s\n1",', 1))
    (d / "dupcols.csv").write_text("\n".join(l + "," + l.split(",")[0] for l in lines) + "\n")
    (d / "nan_strings.csv").write_text(text.replace("g2,", "NA,", 2).replace("g3,", "NaN,", 2).replace("g4,", ",", 2))
    (d / "$(touch PWNED);x.csv").write_text(text)


def api_frame(name: str) -> pd.DataFrame | object:
    """The hostile frames of the ``api:NAME`` recipes."""
    b = small_frame()
    n = len(b)
    k = np.arange(n)
    if name == "int64_unused":
        return b.assign(big=3000000000 + k)
    if name == "int64_group":
        return b.assign(big=(k % 6).astype(np.int64) * 3000000000)
    if name == "uint64_unused":
        return b.assign(u=(np.uint64(2**63) + (k % 4).astype(np.uint64) * np.uint64(4096)))
    if name == "pyint_group":
        return b.assign(huge=pd.Series([2**70 + (i % 6) * 2**20 for i in range(n)], dtype=object).values)
    if name == "pyint_inexact":
        return b.assign(inexact=pd.Series([2**70 + (i % 6) for i in range(n)], dtype=object).values)
    if name in ("str_weights", "str_weights_array", "missing_weights", "str_offset", "short_weights"):
        return b
    if name == "nul_string":
        return b.assign(nul=[f"n\x00{i % 4}" for i in range(n)])
    if name == "surrogate_string":
        return b.assign(sur=[f"n\udce9{i % 4}" for i in range(n)])
    if name == "complex_col":
        return b.assign(cx=b.x.to_numpy() + 1j)
    if name == "datetime_col":
        return b.assign(dt=pd.date_range("2020-01-01", periods=n))
    if name == "bytes_col":
        return b.assign(by=[f"b{i % 4}".encode() for i in range(n)])
    if name == "list_col":
        return b.assign(li=[[i % 4] for i in range(n)])
    if name == "mixed_obj":
        return b.assign(mix=pd.Series(["a" if i % 2 else i for i in range(n)], dtype=object).values)
    if name == "cat_int":
        return b.assign(cint=pd.Categorical(k % 5))
    if name == "cat_collide":
        return b.assign(ccol=pd.Categorical(["1" if i % 2 else 1 for i in range(n)]))
    if name == "dup_columns":
        d = pd.concat([b, b[["x"]]], axis=1)
        return d
    if name == "not_a_frame":
        return {"y": b.y.tolist(), "x": b.x.tolist(), "g": b.g.tolist()}
    if name == "inf_x":
        return b.assign(x=np.where(k == 3, np.inf, b.x))
    if name == "all_nan":
        return b.assign(y=np.nan)
    if name == "empty_frame":
        return pd.DataFrame()
    if name == "contrasts_attr_nonfactor":
        b.attrs["contrasts"] = {"x": "contr.sum"}
        return b
    if name == "contrasts_attr_shape":
        b["f"] = pd.Categorical(b.f)
        b.attrs["contrasts"] = {"f": np.ones((2, 1))}
        return b
    if name == "contrasts_attr_fn":
        b["f"] = pd.Categorical(b.f)
        b.attrs["contrasts"] = {"f": "file.create"}
        return b
    if name == "matrix_attr_bad":
        b.attrs["matrix_columns"] = {"M": {"columns": ["nope"]}}
        return b
    if name == "matrix_attr_strings":
        b.attrs["matrix_columns"] = {"M": {"columns": ["x", "s"], "colnames": None}}
        return b
    if name in ("contrasts_arg_fn", "contrasts_arg_matrix"):
        return b
    if name == "huge_x":
        return b.assign(x=b.x * 1e300)
    if name == "bool_group":
        return b.assign(b=(k % 3 == 0))
    if name == "nan_index":
        return b.set_index(pd.Index([np.nan] + list(range(1, n)), dtype=float))
    if name == "multiindex_cols":
        b.columns = pd.MultiIndex.from_tuples([(c, c) for c in b.columns])
        return b
    if name == "float16_col":
        return b.assign(h16=b.x.astype(np.float16))
    if name == "object_numbers":
        return b.assign(onum=pd.Series([float(v) if i % 2 else int(i) for i, v in enumerate(b.x)], dtype=object).values)
    if name == "period_col":
        return b.assign(per=pd.period_range("2020-01", periods=n, freq="M"))
    if name == "interval_col":
        return b.assign(iv=pd.interval_range(0, n))
    if name == "sparse_col":
        return b.assign(sp=pd.arrays.SparseArray(np.where(k % 3 == 0, 0.0, b.x)))
    raise KeyError(name)


def api_kwargs(case: dict, df) -> dict:
    out = {}
    for key, v in (case.get("api") or {}).items():
        if key == "contrasts":
            out[key] = {f: (np.array(m) if isinstance(m, list) else m) for f, m in v.items()}
        elif isinstance(v, str) and v.startswith("array:"):
            col = v[len("array:"):]
            out[key] = np.ones(3) if col == "short" else df[col].to_numpy()
        else:
            out[key] = v
    return out


def c_getenv(name: str) -> str | None:
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    v = libc.getenv(name.encode())
    return None if v is None else v.decode(errors="replace")


def listing(d: Path) -> dict[str, int]:
    out = {}
    for root, dirs, files in os.walk(d):
        for f in files + dirs:
            p = Path(root) / f
            out[str(p.relative_to(d))] = p.stat().st_size if p.is_file() else -1
    return out


def run_cli(main, argv: list[str]) -> dict:
    err, out = io.StringIO(), io.StringIO()
    rec: dict = {}
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("always")  # what a user would see, every time
        try:
            rec["rc"] = main(argv)
        except SystemExit as e:
            rec["rc"] = e.code if isinstance(e.code, int) else 1
        except BaseException as e:  # noqa: BLE001
            rec["rc"] = None
            rec["exc"] = type(e).__name__
            err.write(traceback.format_exc())
    rec["stderr"] = err.getvalue()
    rec["stdout_tail"] = out.getvalue()[-400:]
    return rec


def run_api(fn) -> dict:
    from parity.compare.notcompared import NotCompared
    from pyreterms.errors import LmeMessage, LmeWarning, PyretermsError

    rec: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = fn()
            rec["outcome"] = "ok"
            if res is not None and hasattr(res, "ok"):
                rec["report_ok"] = bool(res.ok)
        except (PyretermsError, NotCompared) as e:
            rec["outcome"] = "refused"
            rec["exc"] = type(e).__name__
            rec["message"] = str(e)
        except Exception as e:  # noqa: BLE001
            rec["outcome"] = "exception"
            rec["exc"] = type(e).__name__
            rec["message"] = str(e)[:300]
            rec["traceback"] = traceback.format_exc()[-1500:]
    rec["leaked_warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught
                              if not issubclass(w.category, (LmeWarning, LmeMessage))]
    return rec


def run_case(case: dict, surface: str, d: Path) -> dict:
    import parity.cli.main
    import pyreterms
    import pyreterms.cli
    from parity.compare.check import check
    from pyreterms.design.dataframe import read_csv

    formula, data, level = case["formula"], case["data"], case.get("level", "lformula")
    if surface == "parity" and "argv" in case:
        return run_cli(parity.cli.main.main, list(case["argv"]))
    if surface == "parity":
        return run_cli(parity.cli.main.main, ["check", formula, "--data", data, "--level", level, *case["args"]])
    if surface == "pyreterms":
        return run_cli(pyreterms.cli.main, ["lformula" if level == "lformula" else "lmer", formula, "--data", data])

    def frame():
        if data.startswith("api:"):
            return api_frame(data[4:])
        return read_csv(data)  # the API's reader of CSV files (one-line DataError)

    if surface == "api":
        def fn():
            df = frame()
            call = pyreterms.lformula if level == "lformula" else pyreterms.lmer
            return call(formula, df, **api_kwargs(case, df))
        return run_api(fn)
    if surface == "parity-api":
        def fn():
            df = frame()
            return check(formula, df, level=level, **api_kwargs(case, df))
        return run_api(fn)
    raise ValueError(surface)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--ids", nargs="*")
    ap.add_argument("--start-after", default=None, help="resume after this case (the one a crash killed)")
    a = ap.parse_args(argv)
    corpus = json.loads((HERE / "corpus.json").read_text())["cases"]
    cases = [c for c in corpus if not a.ids or c["id"] in a.ids]
    if a.start_after is not None:
        cases = cases[[c["id"] for c in cases].index(a.start_after) + 1:]
    out = open(a.out, "w", buffering=1)
    with tempfile.TemporaryDirectory(prefix="badinput-") as tmp:
        d = Path(tmp)
        write_files(d)
        os.chdir(d)
        from parity.r import session as rsession

        rsession.start()  # R's start sets R_HOME etc.: the canary compares the environment after it
        import threadpoolctl

        threadpoolctl.threadpool_info()  # sets KMP_DUPLICATE_LIB_OK on first use
        env0 = dict(os.environ)
        for case in cases:
            for surface in case["surfaces"]:
                before = listing(d)
                out.write(json.dumps({"event": "start", "id": case["id"], "surface": surface}) + "\n")
                out.flush()
                t0 = time.perf_counter()
                rec = run_case(case, surface, d)
                after = listing(d)
                rec.update({"event": "end", "id": case["id"], "surface": surface,
                            "seconds": round(time.perf_counter() - t0, 3),
                            "created": sorted(set(after) - set(before)),
                            "deleted": sorted(set(before) - set(after)),
                            "canary_ok": (d / CANARY).is_file() and (d / CANARY).read_text() == "canary\n",
                            "env_changed": sorted(k for k in set(env0) | set(os.environ)
                                                  if env0.get(k) != os.environ.get(k)),
                            "c_env_pwned": c_getenv("PWNED")})
                out.write(json.dumps(rec) + "\n")
                out.flush()
                if rec["created"]:  # keep later cases independent
                    for f in rec["created"]:
                        p = d / f
                        if p.is_file():
                            p.unlink()
        os.chdir(HERE)
    out.write(json.dumps({"event": "done"}) + "\n")
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
