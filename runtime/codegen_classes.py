"""Which classes the exported .py defines, and what each one's constructor takes.

Every Block node lowers to its own Program (a repeated one to one per copy), with concrete
values. Code export writes one class per block definition: the Programs of one definition
are its instances, and a value that is a block parameter ("$channels") in the definition,
or that differs between instances (a conv's in_channels read off a different input),
becomes a constructor argument; the rest stay literals. Instances whose structure differs
(a parameter that changes a port count) get a class each: BasicBlock, BasicBlock2.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from runtime.lower import RESERVED_NAMES, Program, Step


@dataclass
class ClassPlan:
    name: str
    program: Program                               # the first instance: the class's layout
    args: list[str] = field(default_factory=list)  # constructor arguments, in order
    # (step name, kwarg key) → argument; for a block step's copies (step name, copy, arg).
    slot_arg: dict[tuple, str] = field(default_factory=dict)
    # Function steps' arguments are kept on self, so forward() can read them.
    stored: list[str] = field(default_factory=list)


@dataclass
class Plans:
    main: ClassPlan
    classes: list[ClassPlan]                       # inner classes first, main last
    plan_of: dict[int, ClassPlan]                  # id(Program) → its class
    values_of: dict[int, dict[str, Any]]           # id(Program) → its constructor values


def plan_classes(main: Program, literal: Callable[[Any], str]) -> Plans:
    """`literal` turns a value into its source text: values compare by their text, so 1,
    1.0 and True stay apart and a tuple equals the list it came from."""
    order: list[Program] = []
    _post_order(main, order)
    by_definition: dict[str, list[Program]] = {}
    for prog in order:
        if prog is not main:
            by_definition.setdefault(prog.definition or prog.class_name, []).append(prog)
    plans = Plans(ClassPlan(main.class_name, main), [], {}, {})
    taken = {main.class_name}
    for instances in by_definition.values():
        groups: dict[tuple, list[Program]] = {}
        for prog in instances:
            groups.setdefault(_signature(prog, plans), []).append(prog)
        for group in groups.values():
            name, k = group[0].class_name, 2
            while name in taken:
                name, k = f"{group[0].class_name}{k}", k + 1
            taken.add(name)
            plan = ClassPlan(name, group[0])
            _choose_args(plan, group, plans, literal)
            plans.classes.append(plan)
    _choose_args(plans.main, [main], plans, literal)
    plans.classes.append(plans.main)
    return plans


def copies_of(step: Step) -> list[Program]:
    return step.copies or ([step.block] if step.block is not None else [])


def _post_order(prog: Program, order: list[Program]) -> None:
    # Depth is at most graph.walk.MAX_BLOCK_NESTING levels of blocks.
    for step in prog.steps:
        if step.kind == "block":
            for copy in copies_of(step):
                _post_order(copy, order)
    order.append(prog)


def _signature(prog: Program, plans: Plans) -> tuple:
    steps = []
    for s in prog.steps:
        inner = tuple((plans.plan_of[id(c)].name, tuple(plans.plan_of[id(c)].args))
                      for c in copies_of(s)) if s.kind == "block" else s.target
        steps.append((s.name, s.kind, inner, tuple(s.args), tuple(s.outputs), tuple(s.kwargs)))
    return tuple(prog.inputs), tuple(prog.outputs), tuple(steps)


@dataclass
class _Slot:
    key: tuple                 # what ClassPlan.slot_arg is keyed by
    base: str                  # the argument's name when nothing better is known
    step_name: str
    preferred: str | None      # the block parameter the definition names here
    values: list[Any]          # per instance
    texts: tuple[str, ...]


def _choose_args(plan: ClassPlan, group: list[Program], plans: Plans, literal) -> None:
    slots = _slots(plan.program, group, plans, literal)
    layer_names = {s.name for s in plan.program.steps} | set(plan.program.inputs)
    taken = RESERVED_NAMES | layer_names | {"self"}
    texts: dict[str, tuple[str, ...]] = {}

    def take(slot: _Slot, names: list[str]) -> None:
        for name in names:
            if name in taken:
                continue
            if name not in texts:
                texts[name] = slot.texts
                plan.args.append(name)
            elif texts[name] != slot.texts:
                continue
            plan.slot_arg[slot.key] = name
            return
        k = 2
        while f"{slot.base}_{k}" in taken or f"{slot.base}_{k}" in texts:
            k += 1
        take(slot, [f"{slot.base}_{k}"])

    # Block parameters first, so an inferred value equal to one in every instance (a
    # BatchNorm's num_features that is always `channels`) is written as that parameter.
    for slot in slots:
        if slot.preferred:
            take(slot, [slot.preferred, f"{slot.step_name}_{slot.base}"])
    by_texts = {t: name for name, t in texts.items()}
    for slot in slots:
        if slot.preferred or len(set(slot.texts)) < 2:
            continue
        same = by_texts.get(slot.texts)
        take(slot, ([same] if same else []) + [slot.base, f"{slot.step_name}_{slot.base}"])
        by_texts.setdefault(slot.texts, plan.slot_arg[slot.key])
    for step in plan.program.steps:
        if step.kind == "function":
            plan.stored += [a for k in step.kwargs if (a := plan.slot_arg.get((step.name, k)))
                            and a not in plan.stored]
    for prog in group:
        plans.plan_of[id(prog)] = plan
        plans.values_of[id(prog)] = {}
    for slot in slots:
        arg = plan.slot_arg.get(slot.key)
        if arg is not None:
            for prog, value in zip(group, slot.values):
                plans.values_of[id(prog)][arg] = value


def _slots(first: Program, group: list[Program], plans: Plans, literal) -> list[_Slot]:
    slots = []
    for i, step in enumerate(first.steps):
        refs = first.references.get(step.node_id, {})
        if step.kind in ("module", "function"):
            for key in step.kwargs:
                values = [prog.steps[i].kwargs[key] for prog in group]
                slots.append(_Slot((step.name, key), key, step.name, refs.get(key), values,
                                   tuple(literal(v) for v in values)))
        elif step.kind == "block":
            for j, copy in enumerate(copies_of(step)):
                for arg in plans.plan_of[id(copy)].args:
                    values = [plans.values_of[id(copies_of(prog.steps[i])[j])][arg]
                              for prog in group]
                    slots.append(_Slot((step.name, j, arg), arg, step.name, refs.get(arg), values,
                                       tuple(literal(v) for v in values)))
    return slots
