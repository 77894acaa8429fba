"""Reports of scenario runs: results files, plots, HTML, JUnit XML, comparisons."""
