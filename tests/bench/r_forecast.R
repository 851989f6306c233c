#!/usr/bin/env Rscript
# Reference forecasts from R's forecast package (Hyndman), for forecast_bench.
# At every listed origin each requested method is refitted on the values up to
# and including that origin (the last WINDOW of them, as a ts of frequency
# PERIOD) and forecasts HORIZON steps:
#   ets    forecast::ets() with its automatic choice (AICc) among the ETS
#          models; above frequency 24 ets() ignores the season (its own rule)
#   stlf   forecast::stlf(): STL decomposition (periodic season) plus ets() on
#          the seasonally adjusted series, the package's answer to long seasons
#   arima  forecast::auto.arima(): seasonal ARIMA up to frequency 24; above
#          that, non-seasonal ARIMA errors with Fourier terms (K = 4) for the
#          season, as the package documentation advises for long periods
# A fit that fails falls back to the last value (counted on stderr).
#
# Usage: r_forecast.R VALUES ORIGINS PERIOD HORIZON WINDOW OUTPREFIX METHODS
#   VALUES    one value per line on the trace's regular step; an empty line is
#             a missing point (linearly interpolated inside the fit window:
#             the models need a complete series)
#   ORIGINS   one origin index (0-based) per line
#   OUTPREFIX each method writes OUTPREFIX-METHOD.csv: origin,step,point
#   METHODS   comma-separated subset of ets,stlf,arima
#
# Exit status 3 when the forecast package is not installed.

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 7) {
  cat("usage: r_forecast.R VALUES ORIGINS PERIOD HORIZON WINDOW OUTPREFIX METHODS\n",
      file = stderr())
  quit(status = 2)
}
if (!suppressPackageStartupMessages(requireNamespace("forecast", quietly = TRUE))) {
  cat("r_forecast: the R package 'forecast' is not installed\n", file = stderr())
  quit(status = 3)
}
suppressPackageStartupMessages(library(forecast))

values_path <- args[1]
origins_path <- args[2]
period <- as.integer(args[3])
horizon <- as.integer(args[4])
window <- as.integer(args[5])
prefix <- args[6]
methods <- strsplit(args[7], ",")[[1]]

raw <- readLines(values_path)
values <- suppressWarnings(as.numeric(raw))
origins <- as.integer(readLines(origins_path))

fill_gaps <- function(y) {
  present <- which(is.finite(y))
  if (length(present) == length(y)) return(y)
  approx(present, y[present], xout = seq_along(y), rule = 2)$y
}

forecast_with <- function(method, yt) {
  if (method == "ets") {
    return(forecast(suppressWarnings(ets(yt)), h = horizon)$mean)
  }
  if (method == "stlf") {
    return(stlf(yt, h = horizon)$mean)
  }
  if (method == "arima") {
    if (period <= 24) {
      return(forecast(auto.arima(yt), h = horizon)$mean)
    }
    k <- min(4, floor(period / 2))
    fit <- auto.arima(yt, seasonal = FALSE, xreg = fourier(yt, K = k))
    return(forecast(fit, xreg = fourier(yt, K = k, h = horizon))$mean)
  }
  stop(paste("unknown method", method))
}

for (method in methods) {
  out <- file(paste0(prefix, "-", method, ".csv"), "w")
  writeLines("origin,step,point", out)
  failures <- 0
  for (origin in origins) {
    start <- max(1, origin + 2 - window)
    y <- fill_gaps(values[start:(origin + 1)])
    yt <- ts(y, frequency = period)
    path <- tryCatch(as.numeric(forecast_with(method, yt)), error = function(e) NULL)
    if (is.null(path) || length(path) != horizon || any(!is.finite(path))) {
      failures <- failures + 1
      path <- rep(y[length(y)], horizon)
    }
    writeLines(sprintf("%d,%d,%.17g", origin, seq_len(horizon), path), out)
  }
  close(out)
  if (failures > 0) {
    cat(sprintf("r_forecast: %s failed at %d of %d origins (last value used)\n", method, failures,
                length(origins)), file = stderr())
  }
}
quit(status = 0)
