"""Time, in pure code: schedules, active hours, plans and wake times. No clock reads."""
