"""Keep a case's task tree the size of its present, not of its past.

SpiffWorkflow keeps every completed task in the tree: a loop adds tasks on each pass, so load,
step and save grow with the case's history, and deep trees crash (`RecursionError` after ~330
passes through a task with a boundary timer). The audit trail already records every completed
activity, so the tree only needs what can still influence the future: the unfinished tasks and
their common ancestry.

`prune` finds the lowest common ancestor of every unfinished task, hangs it directly under the
root and drops everything else, including completed subprocesses no remaining task refers to.
Joins, boundary events and gateways all look only at their own ancestors or at unfinished
siblings, which stay. Run it just before saving, never in the middle of a step.
"""
from copy import deepcopy

from SpiffWorkflow.util.task import TaskState


def _ancestry(task):
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    chain.reverse()
    return chain


def _lowest_common_ancestor(tasks):
    """The deepest task every one of `tasks` descends from (or is).

    One full ancestry, of the first task; every other task climbs only until it meets that
    line, which for the usual handful of waiting siblings is a step or two (this runs on
    every save, so it must not cost a walk to the root per task).
    """
    first, *others = tasks
    line = _ancestry(first)
    depth = {id(t): i for i, t in enumerate(line)}
    lowest = len(line) - 1
    for task in others:
        while task is not None and id(task) not in depth:
            task = task.parent
        if task is None:
            return None
        lowest = min(lowest, depth[id(task)])
    return line[lowest]


def _subtree_ids(workflow, top):
    """The ids of `top` and everything below it: a plain walk of the children's ids
    (SpiffWorkflow's own task iterator, with its filters, cost more than the rest of pruning)."""
    tasks, found, stack = workflow.tasks, [], [top.id]
    while stack:
        task_id = stack.pop()
        found.append(task_id)
        stack.extend(child for child in tasks[task_id]._children if child in tasks)
    return found


def prune_tree(workflow):
    """Prune one (sub)workflow's tree in place; return the ids of the tasks dropped."""
    root = workflow.task_tree
    unfinished = [t for t in workflow.tasks.values() if t.has_state(TaskState.NOT_FINISHED_MASK)]
    if not unfinished:
        keep_top = None
    else:
        keep_top = _lowest_common_ancestor(unfinished)
    if keep_top is root:
        return set()
    keep = {root.id}
    if keep_top is not None:
        keep.update(_subtree_ids(workflow, keep_top))
        if keep_top.parent is not None and keep_top.parent is not root:
            # A waiting catch event re-inherits its parent's data when it fires: the root
            # becomes that parent, so it must carry the dropped parent's data, not the start's.
            root.data = deepcopy(keep_top.parent.data)
        root._children = [keep_top.id]
        keep_top._parent = root.id
    else:
        # A finished workflow: keep the root and the last task, whose data is the result.
        last = workflow.last_task
        root._children = []
        if last is not None and last is not root:
            last._children = []
            last._parent = root.id
            root._children = [last.id]
            keep.add(last.id)
    dropped = set(workflow.tasks) - keep
    for task_id in dropped:
        del workflow.tasks[task_id]
    if workflow.last_task is not None and workflow.last_task.id in dropped:
        workflow.last_task = None
    return dropped


def prune(workflow):
    """Prune the whole case: the top workflow, its subprocesses, and finished subprocesses."""
    prune_tree(workflow)
    for sub_id in list(workflow.subprocesses):
        sub = workflow.subprocesses.get(sub_id)
        owner = workflow.get_task_from_id(sub_id) if sub is not None else None
        if owner is None or owner.has_state(TaskState.FINISHED_MASK):
            _drop_subprocess(workflow, sub_id)
    for sub in list(workflow.subprocesses.values()):
        prune_tree(sub)


def _drop_subprocess(workflow, sub_id):
    sub = workflow.subprocesses.pop(sub_id, None)
    if sub is None:
        return
    for child_id in [k for k, v in workflow.subprocesses.items() if v.parent_workflow is sub]:
        _drop_subprocess(workflow, child_id)
