"""The fusion helpers: values and gradients unchanged, zero padding by placement."""

import jax
import jax.numpy as jnp
import numpy as np

from socca.models.fusion import materialise, place, traced_zero


def test_materialise_keeps_values_and_gradients():
    x = jnp.array([0.3, -1.2, 2.5])
    a, b = materialise(jnp.sin(x), jnp.cos(x))
    np.testing.assert_array_equal(a, jnp.sin(x))
    np.testing.assert_array_equal(b, jnp.cos(x))

    def f(x):
        s, c = materialise(jnp.sin(x[0]), jnp.cos(x[1]))
        return s * c

    expected = [np.cos(0.3) * np.cos(-1.2), np.sin(0.3) * np.sin(1.2)]
    np.testing.assert_allclose(jax.grad(f)(x)[:2], expected, rtol=1e-14)


def test_place_pads_with_zeros_at_the_end_under_jit_and_vmap():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(3, 5, 7))
    placed = jax.jit(jax.vmap(lambda im, t: place(im, (8, 11), traced_zero(t))))(
        images, jnp.arange(3.0)
    )
    expected = np.zeros((3, 8, 11))
    expected[:, :5, :7] = images
    np.testing.assert_array_equal(placed, expected)


def test_a_nan_zero_still_places_the_image_in_the_corner():
    image = np.arange(6.0).reshape(2, 3)
    for bad in (np.nan, np.inf, -np.inf):
        zero = traced_zero(bad)
        np.testing.assert_array_equal(place(image, (4, 4), zero)[:2, :3], image)
