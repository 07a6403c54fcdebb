"""What a run or a sweep amounts to: the summary, statistics, the account."""
