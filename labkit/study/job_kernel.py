"""How a study job's kernel runs: its own log goes to the job folder, its progress bars stay off.

A kernel's stderr carries ipykernel's log: the transport warning of every start ("Kernel is running over TCP
without encryption...") and shutdown noise ("KeyboardInterrupt caught in kernel"), which would interleave with
the study's console for every notebook. `kernel.log` in the job folder keeps it, with anything written below
Python (a crash of a C extension), for when a job goes wrong. `tqdm` bars would only fill the executed copy.
"""
from __future__ import annotations

import os
from pathlib import Path

KERNEL_LOG = "kernel.log"


def kernel_manager_for(job_dir: str | Path) -> type:
    """A kernel manager class (papermill's `kernel_manager_class`) whose kernels log to `job_dir/kernel.log`
    and run with TQDM_DISABLE=1."""
    from jupyter_client.manager import AsyncKernelManager

    log_path = Path(job_dir) / KERNEL_LOG

    class JobKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw["env"] = {**(kw.get("env") or os.environ), "TQDM_DISABLE": "1"}
            with open(log_path, "ab") as log:  # the kernel process keeps its own copy of the descriptor
                kw["stderr"] = log
                await super()._async_launch_kernel(kernel_cmd, **kw)

    return JobKernelManager
