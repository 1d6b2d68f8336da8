"""Write fashion_mnist_small.npz: the first 5,000 training and first 1,000 test
images of Fashion-MNIST, read from the Debian package dataset-fashion-mnist.

    apt-get install dataset-fashion-mnist
    python recipes/data/make_fashion_mnist_small.py [SOURCE_DIR] [OUTPUT]
"""

import sys
from pathlib import Path

import numpy as np

from nanotorch.vision.datasets import FashionMNIST

N_TRAIN, N_TEST = 5000, 1000
OUTPUT = Path(__file__).with_name("fashion_mnist_small.npz")


def main(source="/usr/share/datasets/fashion-mnist", output=OUTPUT):
    train = FashionMNIST(source, train=True)
    test = FashionMNIST(source, train=False)
    np.savez_compressed(
        output,
        x_train=train.data[:N_TRAIN], y_train=train.targets[:N_TRAIN],
        x_test=test.data[:N_TEST], y_test=test.targets[:N_TEST],
        classes=np.array(FashionMNIST.classes),
    )
    print(f"wrote {output} ({Path(output).stat().st_size} bytes)")
    print("train class counts:", np.bincount(train.targets[:N_TRAIN], minlength=10).tolist())
    print("test class counts: ", np.bincount(test.targets[:N_TEST], minlength=10).tolist())


if __name__ == "__main__":
    main(*sys.argv[1:])
