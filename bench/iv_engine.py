"""The IV and greeks engine against vollib in a loop (and py_vollib_vectorized where installed), run by hand.

    .venv/bin/python bench/iv_engine.py --runs 7 --sample 2000

py_vollib_vectorized is not a project dependency (it brings numba, and 0.1.1
only runs with py_lets_be_rational 1.0.1, whose functions are numba-compiled;
1.1.2's are not): install `py_vollib_vectorized py_lets_be_rational==1.0.1`
into a scratch venv with the project's requirements to have it measured too.
Importing it replaces vollib's own functions with its vectorized ones, so it
is timed in a child process. opengreeks 0.1.0 and 0.2.0 install but do not import on Python
3.11 (their abi3 wheel calls 3.12's PyErr_SetRaisedException), so it is left
out.

On one core (OMP/OPENBLAS/MKL/NUMBA threads 1, the process pinned to one
CPU), for (1) a full NIFTY chain at one moment, 3,000 options: every listed
weekly and monthly expiry, strikes 50 apart, a skewed smile, premiums in
0.05 ticks; and (2) 100,000 options: NIFTY- and BANKNIFTY-like forwards,
strikes within 15% of the money, 5 minutes to a year to expiry, vols 8% to
80%, premiums in ticks. Each case times `brokers.options.implied_vol_and_greeks`
(IV, delta, gamma, theta, vega for every option in one call) against vollib
doing the same per option (`implied_volatility`, then the four analytical
greeks at that IV) on a random sample, and per-option throughput is compared.
Times are CPU seconds of this process (`time.process_time`), so other load on
the machine slows both sides alike; wall times are printed too. Runs
alternate between the engines and the medians are reported.

IV error: vollib's IV is computed for every option of both cases (not only
the sample) and compared with ours; "well-conditioned" means vega of at least
1e-9 of the forward per vol point, where a premium's last bit cannot move the
IV by 1e-8. Options one side gives no IV for are counted.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
from importlib.metadata import version  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from brokers.calendar import IST  # noqa: E402
from brokers.options import (  # noqa: E402
    black76_greeks,
    black76_price,
    implied_vol_and_greeks,
    monthly_expiries,
    weekly_expiry,
    years_to_expiry,
)

RATE = 0.065
TICK = 0.05
MOMENT = datetime(2026, 11, 23, 11, 0, tzinfo=IST)  # a Monday in session; Tuesday is a weekly expiry


def nifty_chain(size: int = 3000) -> dict[str, np.ndarray]:
    """One moment's full NIFTY chain: 4 weeklies and 3 monthlies, strikes 50 apart around the forward."""
    spot, atm_vol = 26_000.0, 0.12
    expiries = sorted({weekly_expiry(MOMENT.date() + timedelta(days=7 * week)) for week in range(4)}
                      | set(monthly_expiries(MOMENT.date(), 3)))
    per_expiry = size // (2 * len(expiries))
    rows = []
    for expiry in expiries:
        years = years_to_expiry(expiry, MOMENT)
        future = spot * np.exp(RATE * years)
        atm = round(future / 50) * 50
        strikes = atm + 50 * (np.arange(per_expiry) - per_expiry // 2)
        vol = atm_vol - 0.25 * np.log(strikes / future) + 0.6 * np.log(strikes / future) ** 2
        for is_call in (True, False):
            rows.append((np.full(per_expiry, future), strikes, np.full(per_expiry, years), vol,
                         np.full(per_expiry, is_call)))
    future, strike, years, vol, is_call = (np.concatenate(column) for column in zip(*rows))
    return _priced(future, strike, years, vol, is_call)


def many_options(size: int = 100_000, seed: int = 12) -> dict[str, np.ndarray]:
    """`size` options across NIFTY- and BANKNIFTY-like forwards, moneyness, expiries and vols."""
    rng = np.random.default_rng(seed)
    future = rng.choice([26_000.0, 59_000.0], size) * np.exp(rng.normal(0, 0.02, size))
    strike = np.round(future * np.exp(rng.uniform(-0.15, 0.15, size)) / 50) * 50
    years = np.exp(rng.uniform(np.log(5 / (365 * 24 * 60)), np.log(1.0), size))
    vol = rng.uniform(0.08, 0.8, size)
    return _priced(future, strike, years, vol, rng.random(size) < 0.5)


def _priced(future, strike, years, vol, is_call) -> dict[str, np.ndarray]:
    exact = black76_price(future=future, strike=strike, years=years, rate=RATE, vol=vol, is_call=is_call)
    return {"future": future, "strike": strike, "years": years, "is_call": is_call, "vol": vol,
            "price": np.round(exact / TICK) * TICK}


def ours(case: dict) -> np.ndarray:
    result = implied_vol_and_greeks(price=case["price"], future=case["future"], strike=case["strike"],
                                    years=case["years"], rate=RATE, is_call=case["is_call"])
    return result.iv


def vollib_loop(case: dict, index: np.ndarray, greeks: bool = True) -> np.ndarray:
    """vollib one option at a time: IV, then delta, gamma, theta and vega at it."""
    from vollib.black.greeks.analytical import delta, gamma, theta, vega
    from vollib.black.implied_volatility import implied_volatility

    out = np.full(index.size, np.nan)
    price, future, strike, years, calls = (case[k][index].tolist() for k in ("price", "future", "strike", "years",
                                                                                "is_call"))
    for i, (p, f, k, t, c) in enumerate(zip(price, future, strike, years, calls)):
        flag = "c" if c else "p"
        try:
            iv = implied_volatility(p, f, k, RATE, t, flag)
        except Exception:  # below intrinsic, above the maximum: vollib raises
            continue
        if not iv > 0:  # vollib answers 0 for a zero premium: no volatility, as here
            continue
        if greeks:
            delta(flag, f, k, t, RATE, iv), gamma(flag, f, k, t, RATE, iv)
            theta(flag, f, k, t, RATE, iv), vega(flag, f, k, t, RATE, iv)
        out[i] = iv
    return out


def pvv(case: dict) -> np.ndarray:
    """py_vollib_vectorized: IV, then its greeks at it, as arrays (its per-greek functions fail for the Black
    model in 0.1.1, so `get_all_greeks`, which also computes rho; its greeks are finite differences)."""
    import py_vollib_vectorized as pv

    flag = np.where(case["is_call"], "c", "p")
    iv = pv.vectorized_implied_volatility_black(case["price"], case["future"], case["strike"], RATE, case["years"],
                                                 flag, return_as="numpy", on_error="ignore")
    pv.get_all_greeks(flag, case["future"], case["strike"], case["years"], RATE, iv, model="black",
                      return_as="dict")
    return np.where(iv > 0, iv, np.nan)


def pvv_in_child(case: dict, runs: int, workdir: Path):
    """Time py_vollib_vectorized in a child process: importing it replaces vollib's own functions with its
    vectorized ones (module attributes patched), which would falsify the vollib loop here."""
    if importlib.util.find_spec("py_vollib_vectorized") is None:
        return None
    path = workdir / "case.npz"
    np.savez(path, **case)
    done = subprocess.run([sys.executable, __file__, "--pvv-child", str(path), "--runs", str(runs),
                           "--cpu", str(next(iter(os.sched_getaffinity(0))))],
                          capture_output=True, text=True)
    if done.returncode:
        print(f"py_vollib_vectorized failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    times = json.loads(done.stdout.strip().splitlines()[-1])
    return times, np.load(workdir / "case.iv.npy")


def _pvv_child(path: str, runs: int) -> None:
    case = dict(np.load(path))
    times = []
    for _ in range(runs):
        iv, cpu_s, wall_s = timed(pvv, case)
        times.append((cpu_s, wall_s))
    np.save(path.replace(".npz", ".iv.npy"), iv)
    print(json.dumps(times))


def timed(function, *args):
    cpu, wall = time.process_time(), time.perf_counter()
    result = function(*args)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def iv_errors(name: str, case: dict, ours_iv: np.ndarray, reference: np.ndarray) -> dict:
    vega = black76_greeks(future=case["future"], strike=case["strike"], years=case["years"], rate=RATE,
                          vol=np.nan_to_num(reference, nan=0.2), is_call=case["is_call"]).vega
    both = ~np.isnan(ours_iv) & ~np.isnan(reference)
    well = both & (vega >= 1e-9 * case["future"])
    error = np.abs(ours_iv - reference)
    return {"case": name, "options": ours_iv.size, "both": int(both.sum()), "well": int(well.sum()),
            "max_err_well": float(error[well].max()) if well.any() else float("nan"),
            "max_err_all": float(error[both].max()) if both.any() else float("nan"),
            "ours_only_null": int((np.isnan(ours_iv) & ~np.isnan(reference)).sum()),
            "ours_null_well": int((np.isnan(ours_iv) & ~np.isnan(reference)
                                   & (vega >= 1e-9 * case["future"])).sum()),
            "reference_only_null": int((~np.isnan(ours_iv) & np.isnan(reference)).sum())}


def _lbr_version() -> str:
    """py_lets_be_rational's version: its own distribution, or lets-be-rational's, which ships it."""
    for name in ("py_lets_be_rational", "lets_be_rational"):
        try:
            return f"{name} {version(name)}"
        except Exception:
            continue
    return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--sample", type=int, default=2000, help="options vollib prices per run")
    parser.add_argument("--cpu", type=int, default=None, help="the CPU to pin to (default: the last allowed)")
    parser.add_argument("--pvv-child", default=None, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    warnings.filterwarnings("ignore")
    cpu = arguments.cpu if arguments.cpu is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    if arguments.pvv_child:
        return _pvv_child(arguments.pvv_child, arguments.runs)
    workdir = Path(tempfile.mkdtemp(prefix="iv_engine_"))
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    import py_lets_be_rational.lets_be_rational as core
    import scipy
    # vollib's Let's Be Rational is py_lets_be_rational, which numba compiles only in some versions and settings.
    compiled = "numba-compiled" if hasattr(core.normalised_black_call, "py_func") else "pure Python"
    print(f"# {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}  commit {commit}  CPU {cpu} of {os.cpu_count()}  "
          f"python {platform.python_version()}  numpy {np.__version__}  scipy {scipy.__version__}  "
          f"vollib {version('vollib')} on Let's Be Rational {_lbr_version()} ({compiled})  "
          f"load {os.getloadavg()[0]:.2f}")
    cases = {"NIFTY chain": nifty_chain(), "100,000 options": many_options()}
    rng = np.random.default_rng(7)
    rows = []
    for name, case in cases.items():
        size = case["price"].size
        ours_cpu, ours_wall, lib_cpu, lib_wall, others = [], [], [], [], {}
        for _ in range(arguments.runs):
            ours_iv, cpu_s, wall_s = timed(ours, case)
            ours_cpu.append(cpu_s), ours_wall.append(wall_s)
            sample = rng.choice(size, min(arguments.sample, size), replace=False)
            _, cpu_s, wall_s = timed(vollib_loop, case, sample)
            lib_cpu.append(cpu_s / sample.size), lib_wall.append(wall_s / sample.size)
        child = pvv_in_child(case, arguments.runs, workdir)
        if child is not None:
            times, iv = child
            others["py_vollib_vectorized"] = [(cpu_s, wall_s, iv) for cpu_s, wall_s in times]
        per_option = statistics.median(ours_cpu) / size
        vollib_per_option = statistics.median(lib_cpu)
        rows.append((name, "brokers.options", size, statistics.median(ours_cpu), statistics.median(ours_wall),
                     per_option, vollib_per_option / per_option))
        rows.append((name, "vollib (loop)", arguments.sample, vollib_per_option * arguments.sample,
                     statistics.median(lib_wall) * arguments.sample, vollib_per_option, 1.0))
        for other, runs in others.items():
            cpu_s = statistics.median(run[0] for run in runs)
            rows.append((name, other, size, cpu_s, statistics.median(run[1] for run in runs), cpu_s / size,
                         vollib_per_option / (cpu_s / size)))
        case["ours_iv"], case["others"] = ours_iv, {other: runs[-1][2] for other, runs in others.items()}
    print("\n| case | engine | options per run | CPU ms (median) | wall ms (median) | µs per option | × vollib |")
    print("|---|---|---|---|---|---|---|")
    for name, engine, count, cpu_s, wall_s, per, ratio in rows:
        print(f"| {name} | {engine} | {count:,} | {cpu_s * 1e3:.1f} | {wall_s * 1e3:.1f} | {per * 1e6:.3f} | "
              f"{ratio:,.0f} |")
    print("\nIV against vollib on every option (vollib's IV computed for all of them):")
    print("| case | engine | options | both give an IV | well-conditioned | max error (well-conditioned) | "
          "max error (all both give) | null only here | of them well-conditioned | null only in vollib |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, case in cases.items():
        reference = vollib_loop(case, np.arange(case["price"].size), greeks=False)
        for engine, iv in (("brokers.options", case["ours_iv"]), *case["others"].items()):
            e = iv_errors(name, case, iv, reference)
            print(f"| {name} | {engine} | {e['options']:,} | {e['both']:,} | {e['well']:,} | {e['max_err_well']:.1e} "
                  f"| {e['max_err_all']:.1e} | {e['ours_only_null']:,} | {e['ours_null_well']:,} | "
                  f"{e['reference_only_null']:,} |")


if __name__ == "__main__":
    main()
