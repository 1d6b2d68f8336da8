import sys
from pathlib import Path

# the repository root, so tests can import the benchmarks' torch reference models
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
