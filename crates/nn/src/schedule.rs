//! Learning-rate schedules, evaluated on the host per step (the rate reaches the
//! GPU inside the optimizer kernel's params; nothing is read back).

/// A schedule over `total_steps` optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `step_size` steps (torch StepLR).
    Step {
        /// Steps between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
    },
    /// Cosine annealing from the base rate to 0 over the run (torch CosineAnnealingLR, eta_min 0).
    Cosine,
    /// One-cycle (torch OneCycleLR, cos annealing, pct_start 0.3, div_factor 25, final_div_factor 1e4).
    OneCycle,
}

/// A schedule with optional linear warm-up from 0 over `warmup_steps`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    /// The base (peak) learning rate.
    pub base_lr: f64,
    /// The shape after warm-up.
    pub schedule: Schedule,
    /// Total optimizer steps of the run.
    pub total_steps: usize,
    /// Linear warm-up steps (0 for none).
    pub warmup_steps: usize,
}

fn cos_anneal(start: f64, end: f64, frac: f64) -> f64 {
    end + (start - end) * 0.5 * (1.0 + (std::f64::consts::PI * frac.clamp(0.0, 1.0)).cos())
}

impl LrSchedule {
    /// The learning rate of 0-based step `step`.
    pub fn lr(&self, step: usize) -> f64 {
        let base = self.base_lr;
        if step < self.warmup_steps {
            return base * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let s = step - self.warmup_steps;
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        match self.schedule {
            Schedule::Constant => base,
            Schedule::Step { step_size, gamma } => base * gamma.powi((s / step_size.max(1)) as i32),
            Schedule::Cosine => cos_anneal(base, 0.0, s as f64 / span as f64),
            Schedule::OneCycle => {
                let initial = base / 25.0;
                let min = initial / 1e4;
                let up = (0.3 * span as f64 - 1.0).max(1.0);
                let down = (span as f64 - 1.0 - up).max(1.0);
                let s = s as f64;
                if s <= up {
                    cos_anneal(initial, base, s / up)
                } else {
                    cos_anneal(base, min, (s - up) / down)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(schedule: Schedule, warmup: usize) -> LrSchedule {
        LrSchedule {
            base_lr: 0.1,
            schedule,
            total_steps: 100,
            warmup_steps: warmup,
        }
    }

    #[test]
    fn schedules_follow_torch_formulas() {
        assert_eq!(sched(Schedule::Constant, 0).lr(57), 0.1);
        let s = sched(
            Schedule::Step {
                step_size: 30,
                gamma: 0.1,
            },
            0,
        );
        assert!(
            (s.lr(29) - 0.1).abs() < 1e-12
                && (s.lr(30) - 0.01).abs() < 1e-12
                && (s.lr(60) - 0.001).abs() < 1e-12
        );
        let c = sched(Schedule::Cosine, 0);
        assert!((c.lr(0) - 0.1).abs() < 1e-12);
        assert!((c.lr(50) - 0.05).abs() < 1e-12);
        assert!(c.lr(100) < 1e-12);
        let w = sched(Schedule::Cosine, 10);
        assert!((w.lr(0) - 0.01).abs() < 1e-12 && (w.lr(9) - 0.1).abs() < 1e-12);
        let o = sched(Schedule::OneCycle, 0);
        assert!((o.lr(0) - 0.004).abs() < 1e-9, "{}", o.lr(0));
        let peak = (0..100).map(|i| o.lr(i)).fold(0.0, f64::max);
        assert!((peak - 0.1).abs() < 1e-3, "{peak}");
        assert!(o.lr(99) < 1e-5);
    }
}
