"""Adam with TensorFlow's fused kernel: one graph op per variable instead of about twenty.

Why: tracing a training step builds the optimizer's update into the graph once per trainable
tensor. Keras 3's Adam writes each update as some twenty `keras.ops` calls, and ResNet152 has
622 trainable tensors, so on the 2-core CPU the update alone took 25 s of the 77 s that its first
step at 64x64 took (profiled with cProfile; BENCHMARKS.md, "Tracing ResNet152"). TensorFlow's
`ResourceApplyAdam` kernel computes the same update (Kingma & Ba's algorithm with the bias
correction folded into the step size, epsilon outside the square root: Keras' own formula) in one
op, which brings that step to 50 s.

`adam(lr, weight_decay)` gives this optimizer on the TensorFlow backend and Keras' Adam on the
others (JAX on the GPU hosts, where XLA traces the update once anyway). Decoupled weight decay,
loss scaling for mixed precision, tf.distribute and checkpoints are Keras' own: only
`update_step`, the per-variable arithmetic, is replaced. Saved models are loaded with
`compile=False`, so nothing outside training needs to know this class.
"""

import keras


def _resource(variable):
    """The tf.Variable behind a Keras variable (or the variable itself, as the TF backend passes it)."""
    import tensorflow as tf

    return variable if isinstance(variable, tf.Variable) else variable.value


class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose per-variable update is TensorFlow's fused ResourceApplyAdam."""

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)

        var = _resource(variable)
        index = self._get_variable_index(variable)
        dtype = var.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=var.handle, m=_resource(self._momentums[index]).handle, v=_resource(self._velocities[index]).handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
        )


def adam(learning_rate, weight_decay=None):
    """Adam for training here: the fused update on the TensorFlow backend, Keras' Adam elsewhere."""
    optimizer = FusedAdam if keras.backend.backend() == "tensorflow" else keras.optimizers.Adam
    return optimizer(learning_rate, weight_decay=weight_decay)
