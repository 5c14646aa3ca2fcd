"""The /runs/ list as rows: each run with its computed columns, filtered and sorted by the
query string (`?task=…&arch=…&status=…&param=batch_size=32&sort=-best`)."""

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from . import run_stats

# Sort keys the list's column headers offer; `-key` sorts descending.
SORTS = {
    "id": lambda row: row.run.pk,
    "task": lambda row: (row.run.task, row.run.architecture),
    "arch": lambda row: (row.run.architecture, row.run.task),
    "status": lambda row: row.run.status,
    "epochs": lambda row: row.progress["epoch"],
    "best": lambda row: row.best["value"] if row.best else None,
    "duration": lambda row: row.progress["elapsed_seconds"],
    "attempts": lambda row: row.attempts,
    "started": lambda row: row.run.started,
}
DEFAULT_SORT = "-started"


@dataclass
class Row:
    run: object
    progress: dict
    best: dict | None
    attempts: int
    parameters: dict


def row(run):
    return Row(run, run_stats.progress(run), run_stats.best_validation(run), run_stats.attempt_count(run), run_stats.key_parameters(run))


@dataclass
class Query:
    """The list's filters and sort, read from a QueryDict (unknown values are ignored, not errors:
    a stale bookmark still shows a list)."""

    task: str = ""
    arch: str = ""
    status: str = ""
    param: str = ""
    sort: str = DEFAULT_SORT

    @classmethod
    def from_get(cls, get):
        sort = get.get("sort", DEFAULT_SORT)
        if sort.lstrip("-") not in SORTS:
            sort = DEFAULT_SORT
        return cls(
            task=get.get("task", "").strip(),
            arch=get.get("arch", "").strip(),
            status=get.get("status", "").strip(),
            param=get.get("param", "").strip(),
            sort=sort,
        )

    def sort_links(self):
        """{column: query string} for each sortable column header: ascending first, then a click on
        the sorted column reverses it; the filters are kept."""
        filters = {k: v for k, v in asdict(self).items() if k != "sort" and v}
        links = {}
        for key in SORTS:
            sort = f"-{key}" if self.sort == key else key
            links[key] = urlencode({**filters, "sort": sort})
        return links

    def parameter(self):
        """('batch_size', '32') from `batch_size=32`; (name, None) for a bare name (runs that have it)."""
        name, sep, value = self.param.partition("=")
        return name.strip(), (value.strip() if sep else None)


def _matches_parameter(row, name, value):
    args = row.run.arguments if isinstance(row.run.arguments, dict) else {}
    if name not in args:
        return False
    return value is None or _text(args[name]) == value


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def rows(queryset, query):
    """Rows of the runs in `queryset` that pass the filters, in the query's order (runs without a
    value for the sort key come last either way)."""
    if query.task:
        queryset = queryset.filter(task=query.task)
    if query.arch:
        queryset = queryset.filter(architecture=query.arch)
    if query.status:
        queryset = queryset.filter(status=query.status)
    result = [row(run) for run in queryset]
    if query.param:
        name, value = query.parameter()
        result = [r for r in result if _matches_parameter(r, name, value)]
    key = SORTS[query.sort.lstrip("-")]
    present = [r for r in result if key(r) is not None]
    absent = [r for r in result if key(r) is None]
    present.sort(key=key, reverse=query.sort.startswith("-"))
    return present + absent


def choices(queryset):
    """The values the filter menus offer: tasks, architectures and statuses that occur."""
    return {
        "tasks": sorted(set(queryset.exclude(task="").values_list("task", flat=True))),
        "archs": sorted(set(queryset.exclude(architecture="").values_list("architecture", flat=True))),
        "statuses": sorted(set(queryset.values_list("status", flat=True))),
    }
