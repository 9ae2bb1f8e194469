"""Circuit scale: rate and spiking microcircuits as jitted fixed-step scans."""
