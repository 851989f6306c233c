#!/usr/bin/env python3
"""Reference forecasts from statsmodels' damped additive Holt-Winters, for
forecast_bench. Refits ExponentialSmoothing(trend="add", damped_trend=True,
seasonal="add", seasonal_periods=PERIOD) at every listed origin on the values
up to and including that origin (the last WINDOW of them) and forecasts
HORIZON steps.

Usage: statsmodels_forecast.py VALUES ORIGINS PERIOD HORIZON WINDOW OUT
  VALUES   one value per line on the trace's regular step; an empty line is a
           missing point (filled by linear interpolation inside the fit window,
           since statsmodels needs a complete series)
  ORIGINS  one origin index per line
  OUT      CSV written: origin,step,point

Exit status 3 when numpy, pandas or statsmodels is not installed.
"""
import sys
import warnings

try:
    import numpy as np
    import pandas as pd
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
except ImportError as error:
    print(f"statsmodels_forecast: {error}", file=sys.stderr)
    sys.exit(3)


def main(argv):
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    values_path, origins_path, period, horizon, window, out_path = argv[1:]
    period, horizon, window = int(period), int(horizon), int(window)
    with open(values_path) as f:
        raw = [line.strip() for line in f]
    values = np.array([float(v) if v else np.nan for v in raw])
    with open(origins_path) as f:
        origins = [int(line) for line in f if line.strip()]
    warnings.filterwarnings("ignore")
    with open(out_path, "w") as out:
        out.write("origin,step,point\n")
        for origin in origins:
            start = max(0, origin + 1 - window)
            fit = pd.Series(values[start:origin + 1]).interpolate(limit_direction="both")
            model = ExponentialSmoothing(fit.to_numpy(), trend="add", damped_trend=True,
                                         seasonal="add", seasonal_periods=period)
            path = model.fit().forecast(horizon)
            for step, point in enumerate(path, start=1):
                out.write(f"{origin},{step},{point!r}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
