"""Resolved tissue under the pen's tip: an axisymmetric (r, z) grid below and around
the contact disc, with phase change and Pennes perfusion. Host only (numpy).

plant.Plant builds one from its own parameters and meets it through TipLink, the
per-tick interface (docs/PLANT.md, "The resolved tissue").

The state is the volumetric enthalpy H of every cell (J/m3, 0 where tissue starts
to freeze); temperature follows from it, so latent heat needs no special case.
Heat flows in the Kirchhoff variable u (k = k0(layer) * phi(T), u = integral of
phi dT), which makes the conduction operator independent of the state: one
operator, factored once per step length, serves the whole freeze. A step is
implicit Euler, solved by nonlinear Chernoff relaxations on that operator starting
from the last step's change (docs/PLANT.md has the scheme, its checks and its limits).
"""
import math

import numpy as np

from host_tools.sim import plant

# Parameters shared with the Plant: same names, defaults and ranges (plant.PARAMS).
SHARED = ("room_c", "skin_c", "core_c", "tip_d_mm", "epidermis_mm",
          "k_epidermis_w_per_m_k", "k_dermis_w_per_m_k", "tissue_cp_j_per_g_k",
          "tissue_density_kg_per_m3", "perfusion_per_s", "tissue_latent_j_per_g")

# The tissue's own parameters: rows of plant.PARAMS, the one table of the model's values.
OWN = ("frozen_k_ratio", "frozen_cp_j_per_g_k", "lethal_c")
PARAMS = tuple(row for row in plant.PARAMS if row[0] in OWN)

ICE_C = plant.FREEZE_TOP_C  # ice_mm and the ice radius follow the top of the freezing band
STEP_S = 0.25  # TipLink's tissue step: 25 ticks

# The grid (our choice), in mm: fine where the ice goes, coarse below.
DEPTH_MM = 10.0  # the body at core_c below; the dermis ends within 2 to 3 mm
MARGIN_MM = 7.0  # beyond the tip's edge; the outer wall is insulated
DZ_MM = 0.05  # epidermis cells, at least 2 across it, so basal_c is a face between cells
FINE_MM = 4.0  # about the deepest ice of a 45 s contact; cells grow slowly down to here
GROWTH_FINE = 1.1
GROWTH_DEEP = 1.4
DR_EDGE_MM = 0.15  # at the tip's edge, where the ice turns the corner
GROWTH_R_IN = 1.45
GROWTH_R_OUT = 1.25

RELAX_TOL_K = 0.01  # with several relaxations: done when no cell's u is further off (K)

T_TABLE_C = (-273.0, 300.0)  # the enthalpy tables' ends, far outside any use


def checked_params(overrides=None):
    """The tissue's parameters (SHARED and OWN), checked by plant.checked_params: an
    unknown name or a value out of range raises ValueError naming it."""
    values = plant.checked_params(overrides or {})
    return dict((k, values[k]) for k in SHARED + OWN)


# --- grid ----------------------------------------------------------------------

def _graded(start, first, growth, end):
    """Faces from start to end (either direction), cells growing from `first` by
    `growth`; a last sliver under half its neighbour joins it."""
    sign = 1.0 if end > start else -1.0
    faces, size = [start], first
    while sign * (end - faces[-1]) > 1e-9:
        faces.append(faces[-1] + sign * size)
        size *= growth
    faces[-1] = end
    if len(faces) > 2 and abs(faces[-1] - faces[-2]) < 0.5 * abs(faces[-2] - faces[-3]):
        del faces[-2]
    return faces


def _chain_matrix(g, n):
    """The conduction matrix of n nodes in a row joined by conductances g."""
    m = np.zeros((n, n))
    i = np.arange(len(g))
    m[i, i] += g
    m[i + 1, i + 1] += g
    m[i, i + 1] -= g
    m[i + 1, i] -= g
    return m


class Grid:
    """Rings (axis first) by layers (surface first), SI units, and their conductances
    in the Kirchhoff variable (W per K of u). slab: one ring as wide as the face,
    the one-dimensional limit."""

    def __init__(self, p, slab=False):
        radius = p["tip_d_mm"] / 2.0
        epidermis = p["epidermis_mm"]
        if slab:
            r = [0.0, radius]
        else:
            r = _graded(radius, DR_EDGE_MM, GROWTH_R_IN, 0.0)[::-1]
            r += _graded(radius, DR_EDGE_MM, GROWTH_R_OUT, radius + MARGIN_MM)[1:]
        n_epi = min(6, max(2, int(round(epidermis / DZ_MM))))
        z = [epidermis * i / n_epi for i in range(n_epi + 1)]
        z += _graded(epidermis, epidermis / n_epi, GROWTH_FINE, max(FINE_MM, 2 * epidermis))[1:]
        z += _graded(z[-1], z[-1] - z[-2], GROWTH_DEEP, DEPTH_MM)[1:]
        self.r_faces = np.array(r) * 1e-3
        self.z_faces = np.array(z) * 1e-3
        self.radius_m = radius * 1e-3
        self.n_epidermis = n_epi
        self.n_disc = int(np.searchsorted(self.r_faces, self.radius_m - 1e-9))
        self.ring_area = math.pi * np.diff(self.r_faces ** 2)
        self.dz = np.diff(self.z_faces)
        self.r_mid = 0.5 * (self.r_faces[1:] + self.r_faces[:-1])
        self.z_mid = 0.5 * (self.z_faces[1:] + self.z_faces[:-1])
        self.volume = self.ring_area[:, None] * self.dz[None, :]
        self.shape = self.volume.shape
        self._conductances(p)

    def _conductances(self, p):
        dz = self.dz
        self.k = np.where(np.arange(len(dz)) < self.n_epidermis,
                          p["k_epidermis_w_per_m_k"], p["k_dermis_w_per_m_k"])
        self.g_z = 1.0 / (0.5 * dz[:-1] / self.k[:-1] + 0.5 * dz[1:] / self.k[1:])  # per m2
        self.g_bottom = self.k[-1] / (0.5 * dz[-1])  # per m2, to the body below
        self.g_core = self.g_bottom * self.ring_area  # per ring
        self.g_face = self.ring_area[:self.n_disc] * self.k[0] / (0.5 * dz[0])  # per ring

    def radial_operator(self):
        """Conductances between neighbouring rings, per unit of k * dz."""
        g = 2.0 * math.pi * self.r_faces[1:-1] / np.diff(self.r_mid)
        return _chain_matrix(g, len(self.r_mid))

    def axial_operator(self):
        """Conductances between neighbouring layers, per m2, the body below included."""
        m = _chain_matrix(self.g_z, len(self.dz))
        m[-1, -1] += self.g_bottom
        return m


# --- the tissue's material: enthalpy, Kirchhoff variable, perfusion -------------

class Material:
    """Piecewise-linear relations between enthalpy H (J/m3), temperature and the
    Kirchhoff variable u (in K of unfrozen tissue), knotted at the freezing band.
    Inside the band the sensible heat capacity and the conductivity are the means of
    frozen and unfrozen tissue, and the latent heat is spread evenly."""

    def __init__(self, p, band_c):
        rho = p["tissue_density_kg_per_m3"]
        c_u = rho * p["tissue_cp_j_per_g_k"] * 1000.0
        c_f = rho * p["frozen_cp_j_per_g_k"] * 1000.0
        latent = rho * p["tissue_latent_j_per_g"] * 1000.0
        ratio = p["frozen_k_ratio"]
        bottom, top = band_c
        width = top - bottom
        band_capacity = 0.5 * (c_u + c_f) + latent / width
        phi_band = 0.5 * (1.0 + ratio)
        lo, hi = T_TABLE_C
        h_bottom = -band_capacity * width
        u_bottom = -phi_band * width
        self.t_knots = np.array([lo, bottom, top, hi])
        self.h_knots = np.array([h_bottom - c_f * (bottom - lo), h_bottom, 0.0, c_u * (hi - top)])
        self.u_knots = np.array([u_bottom - ratio * (bottom - lo), u_bottom, 0.0, hi - top])
        self.phi_knots = (ratio, phi_band, 1.0)
        self.top_c, self.bottom_c = top, bottom
        # The relaxation's capacity: at most the least dH/du anywhere.
        self.mu = min(c_f / ratio, c_u, band_capacity / phi_band)
        # Pennes: arterial blood at core_c, fading across the band with the unfrozen share.
        w = p["perfusion_per_s"] * plant.BLOOD_RHO_CP
        self.perfusion_knots = np.array([0.0, 0.0, w * (p["core_c"] - top),
                                         w * (p["core_c"] - hi)])

    def temperature(self, h):
        return np.interp(h, self.h_knots, self.t_knots)

    def u_of_h(self, h):
        return np.interp(h, self.h_knots, self.u_knots)

    def u_of_t(self, t):
        """u at a temperature (scalar)."""
        t_k, u_k = self.t_knots, self.u_knots
        i = 0 if t < t_k[1] else 1 if t < t_k[2] else 2
        return float(u_k[i] + (t - t_k[i]) * (u_k[i + 1] - u_k[i]) / (t_k[i + 1] - t_k[i]))

    def perfusion_w_per_m3(self, h):
        return np.interp(h, self.h_knots, self.perfusion_knots)

    def phi(self, t):
        """du/dT at t: the conductivity's factor."""
        frozen, band, unfrozen = self.phi_knots
        return unfrozen if t > self.top_c else band if t >= self.bottom_c else frozen


# --- the linear solve -----------------------------------------------------------

class Operator:
    """(mu V / dt + conduction) u = V / dt * x + fixed on the grid, for one step length.
    Around it: the body below at a fixed u, the room through g_air on the top cells
    (linear in u for unfrozen skin), and in contact the face, joined to the top cells
    under it in place of the room.

    The conduction matrix is separable in r and z, so generalized eigenbases of the
    radial and the axial operators diagonalize it: a solve is four small matrix
    products and a division, and V / dt, a product of a radial and an axial factor,
    rides in the first two. Contact changes the top cell of each ring under the face:
    a low-rank update (Woodbury). The fixed right-hand sides (the body, the room, the
    face per unit of its u) are kept already transformed."""

    def __init__(self, grid, mu, dt_s, g_air, u_core, u_room):
        s, lam = _generalized_eigh(grid.radial_operator(), grid.ring_area)
        axial = np.diag(mu / dt_s * grid.dz) + grid.axial_operator()
        axial[0, 0] += g_air  # per m2: the room, on every ring
        z, nu = _generalized_eigh(axial, grid.k * grid.dz)
        self._s, self._zt = s, np.ascontiguousarray(z.T)
        self._st, self._z = np.ascontiguousarray(s.T), z
        self._sa = self._st * grid.ring_area[None, :]
        self._zd = z * (grid.dz / dt_s)[:, None]
        self._inv = 1.0 / (lam[:, None] + nu[None, :])
        self.shape = grid.shape
        self._contact(grid, g_air * grid.ring_area[:grid.n_disc])
        fixed = np.zeros(self.shape)
        fixed[:, -1] = grid.g_core * u_core
        fixed[:, 0] = g_air * grid.ring_area * u_room
        self.fixed_free = self._transform(fixed)
        fixed[:grid.n_disc, 0] = 0.0
        self.fixed_contact = self._transform(fixed)
        fixed[:] = 0.0
        fixed[:grid.n_disc, 0] = grid.g_face
        self.fixed_face = self._transform(fixed)  # per unit of the face's u

    def solve(self, x, fixed, contact):
        """u for the right-hand side V / dt * x + fixed, fixed already transformed."""
        c = self._sa @ x @ self._zd
        c += fixed
        c *= self._inv
        u = self._s @ c @ self._zt
        if contact:
            u -= (self._wm @ u[:self._n, 0]).reshape(self.shape)
        return u

    def _transform(self, b):
        return self._st @ b @ self._z

    def _solve_free(self, b):
        return self._s @ (self._transform(b) * self._inv) @ self._zt

    def _contact(self, grid, g_air_disc):
        n, g = grid.n_disc, grid.g_face
        self._n = n
        units = np.zeros((n,) + self.shape)
        units[np.arange(n), np.arange(n), 0] = 1.0
        w = np.stack([self._solve_free(e) for e in units])  # the free inverse at each face cell
        extra = g - g_air_disc  # the face replaces the room there
        m = np.linalg.inv(np.diag(1.0 / extra) + w[:, np.arange(n), 0].T)
        self._wm = w.reshape(n, -1).T @ m
        face_b = np.zeros(self.shape)
        face_b[:n, 0] = g
        response = self._solve_free(face_b)
        response -= (self._wm @ response[:n, 0]).reshape(self.shape)  # u per unit of the face's u
        # How much the heat into the tip falls per unit rise of the tip's u, over a step.
        self.face_conductance = float(g.sum() - g @ response[:n, 0])


def _generalized_eigh(a, d):
    """Eigenvectors v and values l of a v = l diag(d) v, with v' diag(d) v = I, for a
    symmetric positive semi-definite. Through the SVD, which is the eigendecomposition
    there: numpy's eigh took about 15 ms at these sizes with OpenBLAS threads on busy
    cores, the SVD under 1 ms."""
    scale = 1.0 / np.sqrt(d)
    _, values, vt = np.linalg.svd(scale[:, None] * a * scale[None, :])
    return scale[:, None] * vt.T, values


# --- the tissue -----------------------------------------------------------------

class Tissue:
    """Call step(dt_s, tip_c, contact) to advance; it returns the heat flow into the
    tip (W), with the tip's face held at tip_c over the step.

    relaxations: Chernoff relaxations per step, at most; more than one stops once
    every cell's u is within RELAX_TOL_K of the u its heat flows came from (then
    the step is implicit Euler). One is what TipLink's step was checked with.

    Read: skin_c, surface_c, basal_c, ice_mm, lethal_mm, ice_radius_mm,
    ice_lateral_mm, frozen_mm, temperature_c() (the grid's field),
    mean_under_face_c(top_mm, bottom_mm), steps and step_s (how many steps, the
    last one's length; the readouts change only at a step), and the energy ledger (J since
    construction): face_heat_j (given to the tip), perfusion_heat_j, air_heat_j and
    core_heat_j (received from the blood, the room and the body below), with
    enthalpy_change_j() == perfusion + air + core - face to rounding.
    step_conductance_w_per_k and face_c: the last step's heat flow into the tip is
    step_conductance_w_per_k * (face_c - tip_c), and it changes with the tip's
    temperature at that rate (TipLink holds it between steps)."""

    def __init__(self, overrides=None, slab=False, band_c=None, relaxations=1):
        p = checked_params(overrides)
        self.grid = Grid(p, slab)
        self.material = Material(p, band_c or (plant.FREEZE_BOTTOM_C, plant.FREEZE_TOP_C))
        self.lethal_c = p["lethal_c"]
        self.relaxations = relaxations
        self.steps = 0
        self.step_s = 0.0
        self.contact = False
        self.face_c = self._tip_c = p["skin_c"]
        self.step_conductance_w_per_k = 0.0
        self.face_heat_j = self.perfusion_heat_j = self.air_heat_j = self.core_heat_j = 0.0
        self._operators = {}
        self._u_core = self.material.u_of_t(p["core_c"])
        self._u_room = self.material.u_of_t(p["room_c"])
        self._readouts = None
        self._rest(p)
        self._boundary_sums()
        self._readout_geometry()

    def _rest(self, p):
        """The resting profile: skin_c in the top cell, core_c below, perfused, the
        same at every radius. The uncovered skin loses heat to the room through the
        conductance that makes it steady (derived, not a parameter)."""
        g, m = self.grid, self.material
        w = p["perfusion_per_s"] * plant.BLOOD_RHO_CP
        a = g.axial_operator() + np.diag(w * g.dz)
        b = w * g.dz * p["core_c"]
        b[-1] += g.g_bottom * p["core_c"]
        t = np.empty(len(g.dz))
        t[0] = p["skin_c"]
        t[1:] = np.linalg.solve(a[1:, 1:], b[1:] - a[1:, 0] * t[0])
        self.air_w_per_m2_k = (b[0] - a[0] @ t) / (p["skin_c"] - p["room_c"])
        self._h = np.repeat(np.interp(t, m.t_knots, m.h_knots)[None, :], len(g.r_mid), axis=0)
        self._change = np.zeros(g.shape)  # the last step's change of H
        self._change_dt_s = 1.0
        self._start_j = self.enthalpy_j()

    def _boundary_sums(self):
        """The heat flows across the boundary as weights on u plus constants, for each
        contact state: into the tip (less the face's own u), from the room, from the
        body."""
        g = self.grid
        self._volume_flat = g.volume.ravel()
        self._g_face_sum = float(g.g_face.sum())
        self._boundary, self._boundary_gain = {}, {}
        for contact in (False, True):
            weights = np.zeros((3,) + g.shape)
            weights[1, :, 0] = -self.air_w_per_m2_k * g.ring_area
            if contact:
                weights[0, :g.n_disc, 0] = g.g_face
                weights[1, :g.n_disc, 0] = 0.0
            weights[2, :, -1] = -g.g_core
            self._boundary[contact] = weights.reshape(3, -1)
            self._boundary_gain[contact] = np.array(
                [0.0, -weights[1].sum() * self._u_room, g.g_core.sum() * self._u_core])

    def _operator(self, dt_s):
        key = round(dt_s, 9)
        if key not in self._operators:
            self._operators[key] = Operator(self.grid, self.material.mu, dt_s, self.air_w_per_m2_k,
                                            self._u_core, self._u_room)
        return self._operators[key]

    # --- stepping -----------------------------------------------------------------
    def step(self, dt_s, tip_c, contact):
        """Advance by dt_s with the tip at tip_c (on the skin if contact); returns the
        mean heat flow into the tip (W), the tip's face held at tip_c."""
        if contact == self.contact:
            guess = self._change * (dt_s / self._change_dt_s)
        else:
            guess = np.zeros(self.grid.shape)  # the last change no longer predicts this one
        self.contact = contact
        self._tip_c = tip_c
        change, q_w, perfusion_w, air_w, core_w = self._relax(dt_s, tip_c, contact, guess,
                                                              self.relaxations)
        self._h = self._h + change
        self._change, self._change_dt_s = change, dt_s
        self.steps += 1
        self.step_s = dt_s
        self.face_heat_j += q_w * dt_s
        self.perfusion_heat_j += perfusion_w * dt_s
        self.air_heat_j += air_w * dt_s
        self.core_heat_j += core_w * dt_s
        if contact:
            self._face(tip_c, q_w, self._operator(dt_s))
        self._readouts = None
        return q_w

    def max_step_conductance_w_per_k(self, dt_s):
        """The largest step_conductance_w_per_k a step of dt_s can give: tissue frozen
        under the face. A lumped tip's explicit step must stay stable against it."""
        return self._operator(dt_s).face_conductance * self.material.phi_knots[0]

    def set_lethal_c(self, lethal_c):
        """The isotherm lethal_mm follows from now on (the profile's)."""
        if lethal_c != self.lethal_c:
            self.lethal_c = lethal_c
            self._readouts = None

    def preview(self, dt_s, tip_c):
        """Sets face_c and step_conductance_w_per_k for a tip that has just touched the
        skin: what a step in contact would give, without taking it."""
        q_w = self._relax(dt_s, tip_c, True, np.zeros(self.grid.shape), 1)[1]
        self._face(tip_c, q_w, self._operator(dt_s))

    def _face(self, tip_c, q_w, op):
        self.step_conductance_w_per_k = op.face_conductance * self.material.phi(tip_c)
        self.face_c = tip_c + q_w / self.step_conductance_w_per_k

    def _relax(self, dt_s, tip_c, contact, change, relaxations):
        """Relaxations of implicit Euler from the guessed change of H (updated in
        place); nothing is committed. Returns the change and the step's heat flows
        (W): into the tip, and from the blood, the room and the body."""
        m = self.material
        op = self._operator(dt_s)
        h = self._h
        perfusion = m.perfusion_w_per_m3(h)
        perfusion_dt = perfusion * dt_s
        if contact:
            u_face = m.u_of_t(tip_c)
            fixed = op.fixed_contact + op.fixed_face * u_face
        else:
            u_face, fixed = 0.0, op.fixed_free
        u0 = m.u_of_h(h + change)
        for i in range(relaxations):
            x = m.mu * u0
            x -= change
            x += perfusion_dt
            u = op.solve(x, fixed, contact)
            relaxed = u - u0
            relaxed *= m.mu
            change += relaxed
            if i + 1 < relaxations:
                # The heat flows came from u: done once every cell's own u agrees with it.
                u0 = m.u_of_h(h + change)
                gap = u - u0
                if max(gap.max(), -gap.min()) < RELAX_TOL_K:
                    break
        face_w, air_w, core_w = self._boundary[contact] @ u.ravel() + self._boundary_gain[contact]
        if contact:
            face_w -= self._g_face_sum * u_face
        return (change, float(face_w), float(self._volume_flat @ perfusion.ravel()),
                float(air_w), float(core_w))

    def enthalpy_j(self):
        return float((self._h * self.grid.volume).sum())

    def enthalpy_change_j(self):
        return self.enthalpy_j() - self._start_j

    # --- readouts -----------------------------------------------------------------
    def temperature_c(self):
        """The temperature of every cell (rings x layers), C."""
        return self.material.temperature(self._h)

    def _readout(self, name):
        """The readouts, worked out once per step on first use: a trace reads them
        every tick."""
        if self._readouts is None:
            self._readouts = self._work_out_readouts()
        return self._readouts[name]

    def _work_out_readouts(self):
        m = self.material
        axis = m.temperature(self._h[0]).tolist()
        profile = [self._tip_c if self.contact else axis[0]] + axis
        n, (w_up, w_down) = self.grid.n_epidermis, self._basal_weights
        radius = _last_crossing(self._radii_mm, m.temperature(self._h[:, 0]).tolist(), ICE_C)
        return {"skin_c": profile[0], "surface_c": axis[0],
                "basal_c": w_up * axis[n - 1] + w_down * axis[n],
                "ice_mm": _last_crossing(self._depths_mm, profile, ICE_C),
                "lethal_mm": _last_crossing(self._depths_mm, profile, self.lethal_c),
                "ice_radius_mm": radius,
                "ice_lateral_mm": radius - self._radius_mm if radius > 0.0 else 0.0}

    def _readout_geometry(self):
        g, n = self.grid, self.grid.n_epidermis
        self._depths_mm = [0.0] + (g.z_mid * 1e3).tolist()  # the surface, then cell centres
        self._radii_mm = (g.r_mid * 1e3).tolist()
        self._radius_mm = g.radius_m * 1e3
        # The basal layer is the face between the epidermis' last cell and the dermis:
        # the mean of the two, weighted by their half-cell conductances, where their
        # heat flows agree.
        g_up, g_down = g.k[n - 1] / g.dz[n - 1], g.k[n] / g.dz[n]
        self._basal_weights = (float(g_up / (g_up + g_down)), float(g_down / (g_up + g_down)))

    @property
    def skin_c(self):
        """The skin's surface at the centre: the tip's face in contact, else the top cell."""
        return self._readout("skin_c")

    @property
    def surface_c(self):
        """The top cell on the axis (the skin's first 25 um), in contact or not."""
        return self._readout("surface_c")

    def mean_under_face_c(self, top_mm, bottom_mm):
        """The mean temperature of the tissue under the tip's face between two depths,
        weighted by volume (cells cut by a depth count in part)."""
        g = self.grid
        z0, z1 = top_mm * 1e-3, bottom_mm * 1e-3
        overlap = np.clip(np.minimum(g.z_faces[1:], z1) - np.maximum(g.z_faces[:-1], z0), 0.0,
                          None)
        weights = g.ring_area[:g.n_disc, None] * overlap[None, :]
        t = self.material.temperature(self._h[:g.n_disc])
        return float((weights * t).sum() / weights.sum())

    @property
    def basal_c(self):
        """At the base of the epidermis (epidermis_mm deep) on the axis: the basal layer."""
        return self._readout("basal_c")

    @property
    def ice_mm(self):
        """Depth on the axis of the ice's lower edge: the ICE_C isotherm (-1 C, the top
        of the freezing band), where tissue starts to freeze."""
        return self._readout("ice_mm")

    @property
    def lethal_mm(self):
        """Depth on the axis that lethal_c reaches."""
        return self._readout("lethal_mm")

    @property
    def ice_radius_mm(self):
        """Radius of the ice in the top row of cells (the skin's first 25 to 50 um)."""
        return self._readout("ice_radius_mm")

    @property
    def ice_lateral_mm(self):
        """How far the ice reaches beyond the tip's edge at the surface (negative while
        it has not reached the edge); 0 without ice."""
        return self._readout("ice_lateral_mm")

    @property
    def frozen_mm(self):
        """Ice on the axis as a thickness: each cell's frozen fraction summed over depth.
        A sharp front would sit there (the Neumann check reads this)."""
        frozen = np.clip(self._h[0] / self.material.h_knots[1], 0.0, 1.0)
        return float(frozen @ self.grid.dz) * 1e3


def _last_crossing(x, t_c, iso_c):
    """Where t_c last rises through iso_c along x (lists), interpolated; 0 if no point
    is at or below iso_c, the last x if the last point is."""
    for i in range(len(t_c) - 1, -1, -1):
        if t_c[i] <= iso_c:
            if i + 1 == len(t_c):
                return x[i]
            return x[i] + (iso_c - t_c[i]) / (t_c[i + 1] - t_c[i]) * (x[i + 1] - x[i])
    return 0.0


class TipLink:
    """The per-tick interface for a lumped tip: heat_w(h, tip_c, contact) returns the
    heat flow into the tip over a tick of h seconds.

    Between tissue steps the tip sees the tissue as face_c behind
    step_conductance_w_per_k, the last step's response. Every interval_s, and when
    contact changes, the tissue steps with the tip at its mean temperature since the
    last step. What the tip took differs a little from what that step gave (the
    tissue moved on since the response was taken): owed_j, which the tip gives back
    over the next interval in contact. Tip and tissue energy is conserved with it:
    heat_j == tissue.face_heat_j + owed_j. Putting the difference into the cells under
    the face instead would feed back through the next step's response and can grow."""

    def __init__(self, tissue, interval_s=STEP_S):
        self.tissue = tissue
        self.interval_s = interval_s
        self.heat_j = 0.0  # into the tip since construction
        self.owed_j = 0.0
        self._repay_w = 0.0
        self._contact = tissue.contact
        self._restart()

    def _restart(self):
        self._elapsed_s = 0.0
        self._tip_c_s = 0.0

    def heat_w(self, h, tip_c, contact):
        if contact != self._contact:
            if self._elapsed_s > 0.0:
                self._flush()
            if contact:
                self.tissue.preview(self.interval_s, tip_c)
                self._repay_w = self.owed_j / self.interval_s
            self._contact = contact
        w = 0.0
        if contact:
            t = self.tissue
            w = t.step_conductance_w_per_k * (t.face_c - tip_c) - self._repay_w
            self.heat_j += w * h
            self.owed_j += w * h
        self._elapsed_s += h
        self._tip_c_s += tip_c * h
        if self._elapsed_s >= self.interval_s - 1e-9:
            self._flush()
        return w

    def _flush(self):
        elapsed = self._elapsed_s
        q_w = self.tissue.step(elapsed, self._tip_c_s / elapsed, self._contact)
        if self._contact:
            self.owed_j -= q_w * elapsed
            self._repay_w = self.owed_j / self.interval_s
        self._restart()
