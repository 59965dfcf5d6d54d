"""How outputs are scored: answer extraction (`extract`), named output filters (`filters`), multiple-choice mapping
(`choices`), the metric registry and its aggregation (`metrics`), cross-lingual consistency and AC3
(`consistency`), response-language fidelity (`fidelity`), and one stored item scored from its raw output
(`record`)."""
