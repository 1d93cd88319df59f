"""Tables (markdown, CSV, JSON) and PNG figures for runs and for the paper's table."""

from dshgan.io_utils import atomic_write_bytes, atomic_write_text
from dshgan.report.plots import (
    plot_image_grid,
    plot_pr_curves,
    plot_precision_at_n,
    plot_retrieval_examples,
    plot_training_curves,
)
from dshgan.report.run_report import figures_from_metrics, render_report, write_run_report
from dshgan.report.tables import (
    map_table_markdown,
    read_csv,
    to_jsonable,
    write_csv,
    write_json,
)

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "figures_from_metrics",
    "map_table_markdown",
    "plot_image_grid",
    "plot_pr_curves",
    "plot_precision_at_n",
    "plot_retrieval_examples",
    "plot_training_curves",
    "read_csv",
    "render_report",
    "to_jsonable",
    "write_csv",
    "write_json",
    "write_run_report",
]
