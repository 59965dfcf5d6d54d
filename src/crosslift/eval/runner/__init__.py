"""Running an evaluation config (`evaluate`), by job: planning (`plan`), reopening the results folder (`resume`),
generating the missing items (`generate`; over several processes: `shards`; prompts longer than the context:
`context`), and one task under several prompts (`variants`)."""
