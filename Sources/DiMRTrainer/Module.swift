// DiMRTrainer module
