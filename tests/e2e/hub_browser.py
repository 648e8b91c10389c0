"""A student in a real browser (Debian chromium driven by Playwright): log in, fetch, solve, submit.

Selectors are nbgrader's own (its wheel's ``nbgrader/tests/ui-tests/assignment_list.spec.ts``) and
JupyterLab's. Each step saves a screenshot into ``shots``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

MENU = "#jp-menu-panel div.lm-MenuBar-itemLabel"
T = 90_000  # ms: a loaded 2-core machine can take long to start a server or a kernel


class Shots:
    def __init__(self, page, folder: Path):
        self.page, self.folder, self.n = page, Path(folder), 0
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> Path:
        self.n += 1
        path = self.folder / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path


def log_in(page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(f"**/user/{user}/lab**", timeout=T)
    page.locator("#jp-main-dock-panel").wait_for(timeout=T)


def open_assignments(page) -> None:
    page.locator(f'{MENU}:text("Nbgrader")').click()
    page.locator('#jp-mainmenu-nbgrader li[data-command="nbgrader:open-assignment-list"]').click()
    page.locator("#released_assignments_list").wait_for(timeout=T)


def rows(page, name: str):
    return page.locator(f"#{name}_assignments_list > .list_item")


def wait_rows(page, name: str, count: int = 1):
    page.locator(f"#{name}_assignments_list > .list_item").nth(count - 1).wait_for(timeout=T)
    return rows(page, name)


def fetch(page, assignment: str) -> None:
    page.locator("#refresh_assignments_list").click()
    released = wait_rows(page, "released")
    released.filter(has_text=assignment).first.locator(".item_status button").click()
    wait_rows(page, "fetched").filter(has_text=assignment).first.wait_for(timeout=T)


def open_notebook(page, base: str, user: str, assignment: str, notebook: str) -> None:
    """Open the fetched notebook from the Assignments tab (its link in the fetched list)."""
    page.locator(f'#fetched_assignments_list a.assignment-notebooks-link:text("{assignment}")').click()
    link = page.locator(f'#fetched_assignments_list [id^="nbgrader-"] a:text("{notebook}")')
    link.first.click(timeout=T)
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=T)
    wait_kernel_idle(page)


def wait_kernel_idle(page, timeout_s: float = 90.0) -> None:
    indicator = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if indicator.count() and indicator.first.get_attribute("data-status") == "idle":
            return
        time.sleep(0.3)
    raise TimeoutError("the notebook's kernel did not become idle")


def solve_and_run(page, cell_index: int, code: str) -> None:
    """Replace a cell's code (one line: the editor auto-indents), run every cell, save."""
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    editor = notebook.locator(".jp-Cell").nth(cell_index).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.type(code)
    page.keyboard.press("Escape")
    run_all(page)
    page.keyboard.press("Control+s")


def run_all(page, timeout_s: float = 120.0) -> None:
    """Run > Run All Cells, until every code cell shows an execution count.

    On a loaded machine JupyterLab can lose the kernel's session and ask which kernel to use: the
    student answers with the default (Select) and runs all cells again.
    """
    notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    prompts = notebook.locator(".jp-CodeCell .jp-InputArea-prompt")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.locator(f'{MENU}:text("Run")').click()
        page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
        retry_at = time.monotonic() + 30
        while time.monotonic() < min(deadline, retry_at):
            accept = page.locator(".jp-Dialog .jp-mod-accept")
            if accept.count():
                accept.first.click()
                break
            texts = prompts.all_text_contents()
            if texts and all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in texts):
                wait_kernel_idle(page)
                return
            time.sleep(0.3)
    raise TimeoutError("the notebook's cells did not all run")


def submit(page, assignment: str) -> None:
    page.locator('.lm-TabBar-tab:has-text("Assignments")').first.click()
    page.locator("#refresh_assignments_list").click()
    fetched = wait_rows(page, "fetched").filter(has_text=assignment).first
    fetched.locator('.item_status button:text("Submit")').click()
    wait_rows(page, "submitted").filter(has_text=assignment).first.wait_for(timeout=T)


def fetch_feedback(page, assignment: str, timeout_s: float = 180.0) -> None:
    """Refresh until feedback can be fetched, fetch it and open it (the "view feedback" link)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.locator("#refresh_assignments_list").click()
        row = wait_rows(page, "submitted").filter(has_text=assignment).first
        row.wait_for(timeout=T)
        if "feedback available to fetch" in (row.text_content() or ""):
            break
        if time.monotonic() > deadline:
            raise TimeoutError("no feedback was released for the submission")
        time.sleep(2)
    row.locator('.item_status button:text("Fetch Feedback")').click()
    view = page.locator('#submitted_assignments_list a:text("view feedback")').first
    view.wait_for(timeout=T)
    view.click()
    item = page.locator('.jp-DirListing-item[title*=".html"]').first
    item.wait_for(timeout=T)
    item.dblclick()
    page.locator(".jp-HTMLViewer iframe, iframe").first.wait_for(timeout=T)
