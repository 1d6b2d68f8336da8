"""Count a model's trainable and total parameters, per layer, after freezing.

    python -m recipes.count_params --model resnet18 --freeze backbone --num-classes 10
"""
from __future__ import annotations

import argparse

from nanotorch import models
from nanotorch.utils import summary
from nanotorch.utils.finetune import count_parameters, freeze, replace_head


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m recipes.count_params",
                                description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18", choices=models.list_models())
    p.add_argument("--freeze", default="none", help="'backbone', 'none', 'all' or a module name")
    p.add_argument("--num-classes", type=int, default=None, help="replace the head")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--depth", type=int, default=2, help="layer nesting shown in the table")
    args = p.parse_args(argv)
    model = models.get_model(args.model)
    if args.num_classes is not None:
        replace_head(model, args.num_classes)
    freeze(model, args.freeze)
    summary(model, input_size=(1, 3, args.image_size, args.image_size), depth=args.depth)
    trainable, total = count_parameters(model)
    print(f"{args.model}: {trainable:,} trainable of {total:,} parameters "
          f"({trainable / total:.2%})")
    return trainable, total


if __name__ == "__main__":
    main()
