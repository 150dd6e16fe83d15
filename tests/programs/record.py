"""Record torch's transcripts of the programs here (run with an interpreter that has torch):

    /path/to/python -m tests.programs.record
"""
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PROGRAMS = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in ("record", "__init__"))

if __name__ == "__main__":
    for name in PROGRAMS:
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([sys.executable, str(HERE / f"{name}.py"), "torch"], cwd=d,
                                 capture_output=True, text=True, check=True).stdout
        (HERE.parent / "data" / f"program_{name}.txt").write_text(out)
        print("wrote", name)
