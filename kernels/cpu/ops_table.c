/* One kn_ops table per element type (see real.h). */
#include "kernels/backend.h"
#include "kernels/cpu/real.h"

#define OP(name) KN_CPU_FN(name)
void OP(encoder_forward)(void *, const int *, const void *, const void *, int, int, int);
void OP(encoder_backward)(void *, void *, const void *, const int *, int, int, int);
void OP(layernorm_forward)(void *, void *, void *, const void *, const void *, const void *, int, int);
void OP(layernorm_backward)(void *, void *, void *, const void *, const void *, const void *, const void *,
			    const void *, int, int);
void OP(matmul_forward)(void *, const void *, const void *, const void *, int, int, int);
void OP(matmul_backward)(void *, void *, void *, const void *, const void *, const void *, int, int, int);
void OP(attention_forward)(void *, void *, const void *, int, int, int, int);
void OP(attention_backward)(void *, void *, const void *, const void *, const void *, int, int, int, int);
void OP(gelu_forward)(void *, const void *, size_t);
void OP(gelu_backward)(void *, const void *, const void *, size_t);
void OP(residual_forward)(void *, const void *, const void *, size_t);
void OP(accumulate)(void *, const void *, size_t);
void OP(crossentropy_forward)(void *, void *, const int *, int, int);
void OP(crossentropy_backward)(void *, const int *, float, int, int);
void OP(zero)(void *, size_t);
double OP(sum_master)(const void *, size_t);
double OP(norm_squared)(const void *, size_t);
void OP(adamw)(void *, void *, const void *, void *, void *, size_t, float, float, float, float, float, int, float);
void OP(master_to_compute)(void *, const void *, size_t);
void OP(image_to_nhwc)(void *, const float *, int, int, int, int);
size_t OP(conv2d_workspace_bytes)(const struct kn_conv_shape *);
void OP(conv2d_forward)(void *, const void *, const void *, void *, const struct kn_conv_shape *);
void OP(conv2d_backward_data)(void *, const void *, const void *, void *, const struct kn_conv_shape *);
void OP(conv2d_backward_filter)(void *, const void *, const void *, void *, const struct kn_conv_shape *);
void OP(batchnorm_forward)(void *, void *, void *, void *, void *, const void *, const void *, const void *,
			   const void *, int, int, int, int, float);
void OP(batchnorm_backward)(void *, void *, void *, const void *, const void *, const void *, const void *,
			    const void *, const void *, int, int);
void OP(relu_forward)(void *, const void *, size_t);
void OP(relu_backward)(void *, const void *, const void *, size_t);
void OP(avgpool_forward)(void *, const void *, int, int, int);
void OP(avgpool_backward)(void *, const void *, int, int, int);
long OP(count_correct)(const void *, const int *, int, int);
void OP(sgd)(void *, void *, const void *, void *, size_t, float, float, float, float);

const struct kn_ops OP(ops) = {
	.encoder_forward = OP(encoder_forward),
	.encoder_backward = OP(encoder_backward),
	.layernorm_forward = OP(layernorm_forward),
	.layernorm_backward = OP(layernorm_backward),
	.matmul_forward = OP(matmul_forward),
	.matmul_backward = OP(matmul_backward),
	.attention_forward = OP(attention_forward),
	.attention_backward = OP(attention_backward),
	.gelu_forward = OP(gelu_forward),
	.gelu_backward = OP(gelu_backward),
	.residual_forward = OP(residual_forward),
	.accumulate = OP(accumulate),
	.crossentropy_forward = OP(crossentropy_forward),
	.crossentropy_backward = OP(crossentropy_backward),
	.zero = OP(zero),
	.sum_master = OP(sum_master),
	.norm_squared = OP(norm_squared),
	.adamw = OP(adamw),
	.master_to_compute = OP(master_to_compute),
	.image_to_nhwc = OP(image_to_nhwc),
	.conv2d_workspace_bytes = OP(conv2d_workspace_bytes),
	.conv2d_forward = OP(conv2d_forward),
	.conv2d_backward_data = OP(conv2d_backward_data),
	.conv2d_backward_filter = OP(conv2d_backward_filter),
	.batchnorm_forward = OP(batchnorm_forward),
	.batchnorm_backward = OP(batchnorm_backward),
	.relu_forward = OP(relu_forward),
	.relu_backward = OP(relu_backward),
	.avgpool_forward = OP(avgpool_forward),
	.avgpool_backward = OP(avgpool_backward),
	.count_correct = OP(count_correct),
	.sgd = OP(sgd),
};
