"""Count a model's trainable and total parameters, per layer, after freezing or adapting
it as the fine-tuning recipe's ``--method`` does.

    python -m recipes.count_params --model resnet18 --freeze backbone --num-classes 10
    python -m recipes.count_params --model vit_b_16 --method lora --lora-targets mlp.0,mlp.3
"""
from __future__ import annotations

import argparse

from nanotorch import models
from nanotorch.utils import summary
from nanotorch.utils.finetune import count_parameters, replace_head

from . import methods


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m recipes.count_params",
                                description=__doc__.splitlines()[0])
    p.add_argument("--model", default="resnet18", choices=models.list_models())
    p.add_argument("--freeze", default=None,
                   help="'backbone', 'none', 'all' or a module name (default: none, or "
                        "backbone with --method head/lora/bitfit/norm)")
    p.add_argument("--num-classes", type=int, default=None, help="replace the head")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--depth", type=int, default=2, help="layer nesting shown in the table")
    methods.add_arguments(p)
    args = p.parse_args(argv)
    if args.freeze is None:
        args.freeze = "none" if args.method in (None, "full") else "backbone"
    args.augment = False
    if args.freeze != "all":
        problem = methods.resolve(args)
        if problem:
            p.error(problem)
    model = models.get_model(args.model)
    if args.num_classes is not None:
        replace_head(model, args.num_classes)
    methods.prepare(model, args)
    summary(model, input_size=(1, 3, args.image_size, args.image_size), depth=args.depth)
    trainable, total = count_parameters(model)
    print(f"{args.model} ({args.method or 'freeze ' + args.freeze}): {trainable:,} trainable "
          f"of {total:,} parameters ({trainable / total:.2%})")
    return trainable, total


if __name__ == "__main__":
    main()
