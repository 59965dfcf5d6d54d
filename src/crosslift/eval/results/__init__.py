"""What an evaluation leaves behind: the task's results folder (`folder`), its summary (`summary`), report.md, plots
and side-by-side comparisons (`report`), lm-evaluation-harness's files (`lm_eval_format`), and the formatting they,
the judge and the command line share (`formatting`)."""
