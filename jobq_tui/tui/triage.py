"""Triage actions of the dashboard: marks, bulk actions, queues, failures, prune.

JobqApp mixes these in; they read and change the app's state and run their
database work in thread workers, like the rest of the app.
"""

from __future__ import annotations

from textual import work
from textual.widgets import DataTable, Input

from ..filters import JobFilter
from .dialogs import ConfirmScreen
from .failures import FailuresScreen
from .format import local_time, relative
from .prune import PruneScreen
from .queues import QueuesScreen


class TriageActions:
    """Marks, bulk retry/cancel/delete, the Queues and Failures views, pruning."""

    def action_toggle_mark(self) -> None:
        key = self._selected_key()
        if key is None:
            return
        self.mark_all = False
        job_id = int(key)
        if job_id in self.marked:
            self.marked.discard(job_id)
        else:
            self.marked.add(job_id)
        self._refresh_cells()
        self.query_one("#jobs", DataTable).action_cursor_down()

    def action_mark_all(self) -> None:
        if self.mark_all:
            self.mark_all = False
            self.notify_text("Marks cleared", "information")
        else:
            self.mark_all = True
            self.marked.clear()
            scope = self._scope_filter().describe()
            marked = f"Marked all jobs matching {scope}" if scope else "Marked all jobs"
            self.notify_text(marked, "information")
        self._refresh_cells()

    def _refresh_cells(self) -> None:
        if self.snapshot is not None:
            self._row_keys = []
            self._apply_jobs(self.snapshot.jobs)
        self._update_table_status()

    def _scope_filter(self) -> JobFilter:
        scope = self.job_filter or JobFilter()
        if self.state_filter is not None:
            scope = scope.with_state(self.state_filter)
        return scope

    def action_delete_jobs(self) -> None:
        if self.marked or self.mark_all:
            self.request_bulk("delete")
            return
        key = self._selected_key()
        if key is None:
            self.notify_text("Select or mark jobs first", "warning")
            return
        self.marked = {int(key)}
        self.request_bulk("delete")

    def request_bulk(self, action: str) -> None:
        """Count what a bulk action would touch, then ask to confirm that count."""
        if self.bulk_running:
            self.notify_text(f"Wait: {self.bulk_running}", "warning")
            return
        if not self.controller.can_control:
            ids = sorted(self.marked) if not self.mark_all else None
            job_filter = self._scope_filter() if self.mark_all else None
            self._bulk_worker(action, job_filter, ids, 0)
            return
        if self.mark_all:
            self._count_for_bulk(action, self._scope_filter())
        else:
            self._confirm_bulk(action, None, sorted(self.marked), len(self.marked))

    @work(thread=True, group="bulk-count")
    def _count_for_bulk(self, action: str, job_filter: JobFilter) -> None:
        store = self.controller.store
        try:
            count = store.count_for_action(action, job_filter)
        finally:
            store.db.close()
        self.call_from_thread(self._confirm_bulk, action, job_filter, None, count)

    def _confirm_bulk(
        self,
        action: str,
        job_filter: JobFilter | None,
        ids: list[int] | None,
        count: int,
    ) -> None:
        applies = {
            "retry": "failed or cancelled",
            "cancel": "queued or running",
            "delete": "finished",
        }[action]
        if job_filter is not None:
            title = f"{action.capitalize()} {count:,} {applies} jobs?"
            scope = job_filter.describe() or "every job"
            message = f"Jobs matching {scope}. This runs in batches of 500."
        else:
            title = f"{action.capitalize()} {count:,} marked jobs?"
            message = f"Only {applies} jobs among them change."
        if count == 0:
            self.notify_text(f"No {applies} jobs to {action}", "warning")
            return

        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._bulk_worker(action, job_filter, ids, count)

        labels = {"retry": "Retry", "cancel": "Cancel jobs", "delete": "Delete"}
        self.push_screen(
            ConfirmScreen(
                title,
                message,
                labels[action],
                danger=action != "retry",
                dismiss_label="Keep jobs" if action == "cancel" else "Cancel",
            ),
            decided,
        )

    def request_filter_bulk(self, action: str, job_filter: JobFilter) -> None:
        """Confirm and run a bulk action on every job matching `job_filter`."""
        if not self.controller.can_control:
            self._bulk_worker(action, job_filter, None, 0)
            return
        self._count_for_bulk(action, job_filter)

    def apply_filter(self, job_filter: JobFilter) -> None:
        """Show the jobs matching `job_filter`, as if typed in the filter bar."""
        self.search = job_filter.describe() or None
        self.job_filter = job_filter
        self.page_cursors = [None]
        box = self.query_one("#filter", Input)
        box.value = self.search or ""
        box.display = bool(self.search)
        self.action_refresh_now()

    @work(thread=True, group="bulk")
    def _bulk_worker(
        self,
        action: str,
        job_filter: JobFilter | None,
        ids: list[int] | None,
        total: int,
    ) -> None:
        def progress(done: int) -> None:
            self.post_message(self.BulkProgress(f"{action}: {done:,} of {total:,}"))

        self.post_message(self.BulkProgress(f"{action}: 0 of {total:,}"))
        try:
            outcome = self.controller.bulk(
                action, job_filter=job_filter, ids=ids, on_batch=progress
            )
        finally:
            self.controller.store.db.close()
        self.post_message(self.BulkProgress(None))
        self.post_message(self.ControlFinished(f"bulk_{action}", outcome, None))

    def action_queues(self) -> None:
        self.push_screen(QueuesScreen())

    def action_failures(self) -> None:
        self.push_screen(FailuresScreen())

    def action_prune(self) -> None:
        def decided(days: float | None) -> None:
            if days is not None:
                self._run_control("prune", older_than_seconds=days * 86400)

        self.push_screen(PruneScreen(), decided)

    def action_toggle_times(self) -> None:
        self.absolute_times = not self.absolute_times
        self._refresh_cells()

    def _time_text(self, timestamp: float | None, now: float) -> str:
        if self.absolute_times:
            return local_time(timestamp)
        return relative(timestamp, now)
