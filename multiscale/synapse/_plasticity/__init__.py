"""Rate and spike-timing plasticity rules, three-factor rules, neuromodulators, homeostasis."""
